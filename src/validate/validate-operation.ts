import type { ParametersParameter } from 'fhir/r4';
import { badRequest, fail, notSupported } from '../kernel/outcomes.ts';
import type { FhirModel } from '../repository/fhir-model.ts';
import type { OperationHandler } from '../repository/router/fhir-router.ts';
import { jsonResponse } from '../repository/router/respond.ts';
import type { ProfileRegistry } from './profile-registry.ts';
import { validateResource } from './validate-resource.ts';

/** The standard definition of `$validate` (R4 §6.1.1.1), which the CapabilityStatement cites. */
export const VALIDATE_OPERATION_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Resource-validate';

/**
 * `$validate` as the CapabilityStatement lists it: system level and on every resource type
 * (`buildCapabilityStatement`'s `operations` option).
 */
export function validateCapabilityOperations(
  resourceTypes: Iterable<string>,
): { name: string; definition: string; resourceType?: string }[] {
  const op = { name: 'validate', definition: VALIDATE_OPERATION_DEFINITION };
  return [op, ...[...resourceTypes].sort().map((resourceType) => ({ ...op, resourceType }))];
}

type Json = Record<string, unknown>;

/**
 * `POST /fhir/$validate`, `POST /fhir/{type}/$validate` (and `{type}/{id}/$validate`): the body is
 * the resource, or a `Parameters` with `resource` and optional `profile` (also `?profile=`).
 * The operation succeeds and reports: 200 with the OperationOutcome, errors included; only a
 * request that names nothing to validate, or a body of another type than the URL, is a 400.
 */
export function validateOperation(
  model: FhirModel,
  opts: { registry?: ProfileRegistry } = {},
): OperationHandler {
  return async (req, target) => {
    if (req.method !== 'POST')
      throw fail(405, { code: 'not-supported', diagnostics: '$validate takes POST' });
    const { resource, profiles } = readInput(req.body, target.resourceType);
    const type = resource.resourceType;
    if (target.resourceType && type !== target.resourceType) {
      throw badRequest(
        `The resource is a ${JSON.stringify(type)}, the URL names ${target.resourceType}`,
        'resourceType',
        'HIE-VAL-002',
      );
    }
    if (target.id && resource.id !== undefined && resource.id !== target.id) {
      throw badRequest(
        `The resource's id ${JSON.stringify(resource.id)} is not ${target.id} of the URL`,
        'id',
        'HIE-VAL-002',
      );
    }
    for (const [name, value] of req.query) if (name === 'profile' && value) profiles.push(value);
    // `$validate` answers what `/ingest` would: the region's profile for the type is enforced.
    const outcome = validateResource(model, resource, {
      profileUrls: profiles,
      regionProfiles: true,
      ...(opts.registry ? { registry: opts.registry } : {}),
    });
    return jsonResponse(200, outcome);
  };
}

/**
 * Which form the body takes. A `Parameters` body is the Parameters form, except at
 * `Parameters/$validate` without a `resource` parameter, where it is the resource to check.
 */
function readInput(body: unknown, urlType: string | undefined): { resource: Json; profiles: string[] } {
  if (!isObject(body))
    throw badRequest(
      '$validate needs a resource (or a Parameters) as a JSON object',
      undefined,
      'HIE-VAL-001',
    );
  if (body.resourceType !== 'Parameters') return { resource: body, profiles: [] };
  const params = Array.isArray(body.parameter) ? (body.parameter as ParametersParameter[]) : [];
  const resourceParam = params.find((p) => p?.name === 'resource');
  if (!resourceParam && urlType === 'Parameters') return { resource: body, profiles: [] };
  if (!isObject(resourceParam?.resource)) {
    throw badRequest(
      'A Parameters body needs a "resource" parameter holding the resource',
      'Parameters.parameter',
      'HIE-VAL-001',
    );
  }
  const mode = params.find((p) => p?.name === 'mode')?.valueCode;
  if (mode === 'delete')
    throw notSupported('$validate mode "delete" is not supported here (create, update, profile are)');
  const profiles = params
    .filter((p) => p?.name === 'profile')
    .map((p) => p.valueUri ?? p.valueCanonical ?? p.valueString)
    .filter((u): u is string => typeof u === 'string' && u.length > 0);
  return { resource: resourceParam.resource as unknown as Json, profiles };
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
