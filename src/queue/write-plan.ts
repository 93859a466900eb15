import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Patient, PatientLink, Provenance } from 'fhir/r4';
import { outcome, issue } from '../kernel/outcomes.ts';
import { copyFhirJson } from '../kernel/fhir-json.ts';
import type { InboundMessage, WrittenRef } from '../inbox/types.ts';
import { WriteError } from './write-errors.ts';

/** The resource a conditional key matches now, as far as the ordering rule needs it. */
export interface CurrentMatch {
  id: string;
  versionId?: string;
  eventTime?: string;
  /** A stored Patient's `refer` links: identity's links to the person, kept across re-writes. */
  referLinks?: PatientLink[];
}

/** Finds what `Type?query` matches in the repository right now. */
export type Lookup = (resourceType: string, query: string) => Promise<CurrentMatch[]>;

export interface WritePlan {
  /** The transaction to send, or undefined when every entry lost to a newer stored version. */
  bundle: Bundle | undefined;
  /** Entries left out because the repository holds a newer event (reported as written refs). */
  skipped: WrittenRef[];
  /** Indexes (in `bundle.entry`) of conditional creates: a 200 there means someone created it first. */
  creates: Set<number>;
}

export const SKIPPED_STATUS = 'skipped: newer version stored';

export function eventTimeExtension(canonicalBase: string): string {
  return `${canonicalBase}/StructureDefinition/source-event-time`;
}

/**
 * Applies the ordering rule (CONTRACTS.md "Inbound answers") to one message's transaction.
 *
 * For every conditional PUT (`Type?identifier=…`) the current match is read. A match whose
 * source-event-time is newer than this message's keeps its content: the entry is dropped and
 * references to it point at the stored resource. Otherwise the entry becomes a versioned update
 * (`PUT Type/id` + `If-Match`), so a write that raced in between turns into a 412 and a re-read
 * instead of an overwrite. With no match the entry becomes a conditional create: had it stayed a
 * conditional PUT, two messages creating the same new patient in parallel would both "win" and
 * the older could land last; a create that finds the resource answers 200, and the caller
 * writes again with the ordering applied.
 */
export async function planWrite(
  message: InboundMessage,
  bundle: Bundle,
  lookup: Lookup,
  canonicalBase: string,
): Promise<WritePlan> {
  // A private copy each attempt: the plan rewrites entries, and a retry starts from the original.
  const copy = copyFhirJson(bundle);
  const entries = copy.entry ?? [];
  const extUrl = eventTimeExtension(canonicalBase);
  const dropped = new Map<string, string>();
  const skipped: WrittenRef[] = [];

  await Promise.all(
    entries.map(async (entry, index) => {
      if (entry.resource && !entry.fullUrl) entry.fullUrl = `urn:uuid:${randomUUID()}`;
      const url = entry.request?.url ?? '';
      const q = url.indexOf('?');
      if (entry.request?.method !== 'PUT' || q < 0) return;
      const type = url.slice(0, q).replace(/^\/+/, '');
      const query = url.slice(q + 1);
      const matches = await lookup(type, query);
      if (matches.length > 1) {
        throw new WriteError(
          'permanent',
          'HIE-WRITE-MULTIPLE',
          412,
          outcome(
            issue({
              code: 'multiple-matches',
              diagnostics: `The conditional key of entry ${index} matches ${matches.length} ${type} resources`,
              expression: `Bundle.entry[${index}].request.url`,
              hieCode: 'HIE-WRITE-MULTIPLE',
            }),
          ),
        );
      }
      const current = matches[0];
      if (!current) {
        entry.request = { method: 'POST', url: type, ifNoneExist: query };
        return;
      }
      const incoming = eventTimeOf(entry.resource, extUrl) ?? message.eventTime;
      if (isNewer(current.eventTime, incoming)) {
        dropped.set(entry.fullUrl!, `${type}/${current.id}`);
        skipped.push({
          reference: `${type}/${current.id}`,
          ...(current.versionId ? { versionId: current.versionId } : {}),
          status: SKIPPED_STATUS,
        });
        return;
      }
      entry.request = {
        method: 'PUT',
        url: `${type}/${current.id}`,
        ...(current.versionId ? { ifMatch: `W/"${current.versionId}"` } : {}),
      };
      if (entry.resource) entry.resource.id = current.id;
      if (entry.resource?.resourceType === 'Patient' && current.referLinks?.length) {
        // The mapping knows nothing of persons: without this, every message about a patient would
        // drop its link to the golden record and identity would write it back (a version each time).
        const patient = entry.resource as Patient;
        patient.link = [...(patient.link ?? []).filter((l) => l.type !== 'refer'), ...current.referLinks];
      }
    }),
  );

  const kept = entries.filter((e) => !(e.fullUrl && dropped.has(e.fullUrl)));
  if (dropped.size > 0) for (const e of kept) rewriteReferences(e.resource, dropped);
  const targets = kept.filter(
    (e) => e.resource && (e.request?.method === 'PUT' || e.request?.method === 'POST'),
  );
  if (targets.length === 0) return { bundle: undefined, skipped, creates: new Set() };

  copy.entry = [...kept, provenanceEntry(message, targets, canonicalBase)];
  const creates = new Set<number>();
  copy.entry.forEach((e, i) => e.request?.method === 'POST' && e.request.ifNoneExist && creates.add(i));
  return { bundle: copy, skipped, creates };
}

/**
 * The Provenance of the message: the sending institution as agent, the archive row as entity.
 * Its id is the archive id, so writing the same message again updates it instead of adding a
 * second one (a worker killed after the commit and before `markStored` writes the message twice).
 */
function provenanceEntry(
  message: InboundMessage,
  targets: BundleEntry[],
  canonicalBase: string,
): BundleEntry {
  const mappingTag = targets
    .flatMap((e) => e.resource?.meta?.tag ?? [])
    .find((t) => t.system === `${canonicalBase}/CodeSystem/mapping`);
  const provenance: Provenance = {
    resourceType: 'Provenance',
    id: message.id,
    meta: { source: `${canonicalBase}/institution/${message.institution}#${message.id}` },
    target: targets.map((e) => ({ reference: e.fullUrl! })),
    recorded: new Date().toISOString(),
    agent: [{ who: { reference: `Organization/${message.institution}` } }],
    entity: [
      {
        role: 'source',
        what: { identifier: { system: `${canonicalBase}/sid/inbound-message`, value: message.id } },
      },
      ...(mappingTag?.code
        ? [
            {
              role: 'derivation' as const,
              what: { identifier: { system: mappingTag.system!, value: mappingTag.code } },
            },
          ]
        : []),
    ],
  };
  return {
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: provenance,
    request: { method: 'PUT', url: `Provenance/${message.id}` },
  };
}

/** The source-event-time extension of a resource, if it has one. */
export function eventTimeOf(resource: unknown, extUrl: string): string | undefined {
  const ext = (resource as { extension?: { url?: string; valueDateTime?: string }[] } | undefined)?.extension;
  return ext?.find((x) => x.url === extUrl)?.valueDateTime;
}

/** True only when both times are known and the stored one is strictly later. */
export function isNewer(stored: string | undefined, incoming: string | undefined): boolean {
  if (!stored || !incoming) return false;
  const a = Date.parse(stored);
  const b = Date.parse(incoming);
  return !Number.isNaN(a) && !Number.isNaN(b) && a > b;
}

function rewriteReferences(value: unknown, dropped: Map<string, string>): void {
  if (Array.isArray(value)) {
    for (const v of value) rewriteReferences(v, dropped);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    if (key === 'reference' && typeof v === 'string') {
      const to = dropped.get(v);
      if (to) obj.reference = to;
    } else if (typeof v === 'object') rewriteReferences(v, dropped);
  }
}
