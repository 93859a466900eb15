import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4';
import type { FhirModel } from './fhir-model.ts';

export interface CapabilityOptions {
  publicUrl: string;
  version: string;
  /** Operations offered, e.g. `{ name: 'validate', definition: '…' }`, per type or system-wide. */
  operations?: { name: string; definition: string; resourceType?: string }[];
}

/**
 * The CapabilityStatement states what this server really does — no more: interactions per
 * type, the search parameters it indexes, JSON only, SMART on FHIR security. Built once at start.
 */
export function buildCapabilityStatement(model: FhirModel, opts: CapabilityOptions): string {
  const resources: CapabilityStatementRestResource[] = [...model.resourceTypes].sort().map((type) => {
    const params = [...model.searchParameters(type).values()];
    const references = params.filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`);
    const ops = (opts.operations ?? []).filter((o) => o.resourceType === type);
    const resource: CapabilityStatementRestResource = {
      type: type as CapabilityStatementRestResource['type'],
      profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
      interaction: [
        'read',
        'vread',
        'update',
        'patch',
        'delete',
        'history-instance',
        'history-type',
        'create',
        'search-type',
      ].map((code) => ({ code: code as 'read' })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'not-supported',
      conditionalUpdate: true,
      conditionalDelete: 'single',
      referencePolicy: ['literal', 'local', 'enforced'],
      searchInclude: references,
      searchRevInclude: [],
      searchParam: [
        { name: '_id', type: 'token' },
        { name: '_lastUpdated', type: 'date' },
        ...params
          .filter((p) => p.code !== '_id' && p.code !== '_lastUpdated')
          .map((p) => ({ name: p.code, definition: p.url, type: p.type })),
      ],
    };
    if (ops.length) resource.operation = ops.map((o) => ({ name: o.name, definition: o.definition }));
    return resource;
  });
  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'County HIE', version: opts.version },
    implementation: { description: 'County HIE shared FHIR repository', url: `${opts.publicUrl}/fhir` },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Search: token, string (:exact, :contains), date (eq ne lt le gt ge sa eb), reference (:Type, :identifier, chains, one level of _has), number, quantity, uri (:below, :above); :missing on all; _include, _revinclude, _sort, _count, _total, _summary, _elements. Composite and special parameters are not supported and are refused with 400.',
        security: {
          cors: false,
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                },
              ],
            },
          ],
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: `${opts.publicUrl}/auth/token` }],
            },
          ],
        },
        resource: resources,
        interaction: [
          { code: 'transaction' },
          { code: 'batch' },
          { code: 'search-system' },
          { code: 'history-system' },
        ],
        operation: (opts.operations ?? [])
          .filter((o) => !o.resourceType)
          .map((o) => ({ name: o.name, definition: o.definition })),
      },
    ],
  };
  return JSON.stringify(statement);
}
