import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, Identifier } from 'fhir/r4';
import { uuidv7 } from '../../kernel/ids.ts';
import { canonicalFhirJson } from '../../kernel/fhir-json.ts';
import { MappingError, type MappedMessage, type MappingContext, type MappingProblem } from '../types.ts';
import { identifierCriteria } from '../../kernel/search-values.ts';
import { stampProvenance } from './stamp.ts';

export const PASSTHROUGH_MAPPING = 'fhir-passthrough@1';

/**
 * FHIR from a member system, made safe to write into the shared repository:
 * - every resource is keyed to the SENDER: a logical id becomes the identifier
 *   `{base}/sid/source-id/{institution}|{id}` and the entry an upsert on it, so the sender's ids
 *   never collide with another institution's, and a re-send updates instead of duplicating;
 * - references between the sender's resources follow (to the entries' `urn:uuid:` fullUrls, or
 *   to conditional references for resources sent earlier);
 * - `meta.source`, the mapping tag and the ordering key are stamped on every resource.
 * Transaction, batch and collection Bundles and single resources are accepted; only content is
 * taken from them (request methods other than POST/PUT are refused: a sender cannot delete).
 */
export function mapFhirPassthrough(
  body: unknown,
  ctx: MappingContext,
  registeredOrgs: ReadonlySet<string>,
): MappedMessage {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new MappingError([
      { severity: 'error', text: 'The body is not a FHIR resource (a JSON object)', expression: '$' },
    ]);
  }
  const input = body as Record<string, any>;
  const { resources, kind } = unpack(input);
  const sourceSystem = `${ctx.canonicalBase}/sid/source-id/${ctx.institution.id}`;
  const eventTime = orderingTime(input);

  // Pass 1: fullUrl and key of every resource, so references can be rewritten in pass 2.
  const byLocal = new Map<string, string>(); // "Type/id" and the sender's fullUrl → our urn:uuid
  const planned = resources.map(({ resource, fullUrl }) => {
    const urn = `urn:uuid:${uuidv7()}`;
    const localId = typeof resource.id === 'string' ? resource.id : undefined;
    if (localId) byLocal.set(`${resource.resourceType}/${localId}`, urn);
    if (fullUrl) byLocal.set(fullUrl, urn);
    return { resource, urn, localId };
  });

  const entries: BundleEntry[] = planned.map(({ resource, urn, localId }) => {
    const copy: Record<string, any> = structuredClone(resource);
    delete copy.id;
    // CONTRACTS: every Encounter the pipeline writes names the sending institution (the care
    // relationship depends on it); a sender that leaves it out means itself.
    if (copy.resourceType === 'Encounter' && !copy.serviceProvider)
      copy.serviceProvider = { reference: `Organization/${ctx.institution.id}` };
    // The sender's own MRN or visit number comes first: it is how the institution's other
    // channels (HL7 v2, feeds) key the same record, so a patient the county hospital sends over
    // MLLP and over its FHIR referral platform stays one record instead of two with one MRN.
    const key =
      institutionScopedIdentifier(copy.identifier, ctx, ['mrn', 'visit']) ??
      (localId
        ? { system: sourceSystem, value: localId }
        : institutionScopedIdentifier(copy.identifier, ctx));
    if (localId && !hasIdentifier(copy.identifier, sourceSystem, localId)) {
      copy.identifier = [
        ...(Array.isArray(copy.identifier) ? copy.identifier : []),
        { system: sourceSystem, value: localId },
      ];
    }
    rewriteReferences(copy, (ref) => {
      const target = byLocal.get(ref);
      if (target) return target;
      const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
      if (!m) return ref;
      // Our registry's institutions are Organizations under their own ids.
      if (m[1] === 'Organization' && registeredOrgs.has(m[2]!)) return ref;
      return `${m[1]}?identifier=${encodeURIComponent(`${sourceSystem}|${m[2]}`)}`;
    });
    stampProvenance(copy, ctx, PASSTHROUGH_MAPPING, eventTime);
    const request =
      key &&
      copy.identifier &&
      hasIdentifier(copy.identifier, key.system, key.value) &&
      supportsIdentifier(copy.resourceType)
        ? {
            method: 'PUT' as const,
            url: `${copy.resourceType}?${identifierCriteria(key.system, key.value)}`,
          }
        : { method: 'POST' as const, url: copy.resourceType as string };
    return { fullUrl: urn, resource: copy as any, request };
  });

  const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };
  return { type: kind, controlId: controlIdOf(input), eventTime, bundle, issues: [] };
}

interface Unpacked {
  resources: { resource: Record<string, any>; fullUrl?: string }[];
  kind: string;
}

function unpack(input: Record<string, any>): Unpacked {
  if (input.resourceType !== 'Bundle') {
    if (typeof input.resourceType !== 'string') {
      throw new MappingError([
        { severity: 'error', text: 'resourceType is missing', expression: 'resourceType' },
      ]);
    }
    return { resources: [{ resource: input }], kind: input.resourceType };
  }
  const type = input.type;
  if (!['transaction', 'batch', 'collection', 'message'].includes(type)) {
    throw new MappingError([
      {
        severity: 'error',
        text: `Bundle.type must be transaction, batch, collection or message, got "${type}"`,
        expression: 'Bundle.type',
      },
    ]);
  }
  let entries: any[] = Array.isArray(input.entry) ? input.entry : [];
  let kind = `Bundle/${type}`;
  if (type === 'message') {
    // A message's content is everything after its MessageHeader (FHIR R4 messaging).
    const header = entries[0]?.resource;
    if (header?.resourceType !== 'MessageHeader') {
      throw new MappingError([
        {
          severity: 'error',
          text: 'The first entry of a message Bundle must be its MessageHeader',
          expression: 'Bundle.entry[0].resource',
        },
      ]);
    }
    const event = header.eventCoding?.code ?? header.eventUri;
    if (event) kind = `message:${event}`;
    entries = entries.slice(1);
  }
  const problems: MappingProblem[] = [];
  const resources: Unpacked['resources'] = [];
  entries.forEach((e, i) => {
    const method = e?.request?.method;
    if (method !== undefined && method !== 'POST' && method !== 'PUT') {
      problems.push({
        severity: 'error',
        text: `Only resource content is taken; request.method ${method} is not accepted`,
        expression: `Bundle.entry[${i}].request.method`,
      });
    } else if (!e?.resource || typeof e.resource !== 'object') {
      problems.push({
        severity: 'error',
        text: 'The entry has no resource',
        expression: `Bundle.entry[${i}]`,
      });
    } else {
      resources.push({
        resource: e.resource,
        fullUrl: typeof e.fullUrl === 'string' ? e.fullUrl : undefined,
      });
    }
  });
  if (problems.length > 0) throw new MappingError(problems);
  if (resources.length === 0)
    throw new MappingError([
      { severity: 'error', text: 'The Bundle has no entries', expression: 'Bundle.entry' },
    ]);
  return { resources, kind };
}

/** Bundle.identifier, else the SHA-256 of the canonical content (CONTRACTS "Inbound answers"). */
function controlIdOf(input: Record<string, any>): string {
  const id = input.resourceType === 'Bundle' ? (input.identifier as Identifier | undefined) : undefined;
  if (id?.value) return id.system ? `${id.system}|${id.value}` : id.value;
  return createHash('sha256').update(canonicalFhirJson(input)).digest('hex');
}

/** The ordering key: Bundle.timestamp, else the resource's own lastUpdated; undefined = none. */
function orderingTime(input: Record<string, any>): string | undefined {
  if (typeof input.timestamp === 'string') return input.timestamp;
  if (typeof input.meta?.lastUpdated === 'string') return input.meta.lastUpdated;
  return undefined;
}

function institutionScopedIdentifier(
  identifiers: unknown,
  ctx: MappingContext,
  kinds: readonly string[] = ['mrn', 'visit', 'source-id'],
): { system: string; value: string } | undefined {
  if (!Array.isArray(identifiers)) return undefined;
  const scoped = new RegExp(
    `^${escapeRegex(ctx.canonicalBase)}/sid/(${kinds.join('|')})/${escapeRegex(ctx.institution.id)}$`,
  );
  const found = identifiers.find(
    (i) => typeof i?.system === 'string' && scoped.test(i.system) && typeof i.value === 'string',
  );
  return found ? { system: found.system, value: found.value } : undefined;
}

function hasIdentifier(identifiers: unknown, system: string, value: string): boolean {
  return Array.isArray(identifiers) && identifiers.some((i) => i?.system === system && i?.value === value);
}

/** Types with an `identifier` search parameter (nearly all clinical ones; not e.g. Binary). */
function supportsIdentifier(type: string): boolean {
  return !['Binary', 'Bundle', 'Parameters', 'OperationOutcome'].includes(type);
}

function rewriteReferences(value: unknown, map: (ref: string) => string): void {
  if (Array.isArray(value)) {
    value.forEach((v) => rewriteReferences(v, map));
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'reference' && typeof v === 'string' && !v.startsWith('#')) (value as any)[k] = map(v);
    else if (k !== 'contained') rewriteReferences(v, map);
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
