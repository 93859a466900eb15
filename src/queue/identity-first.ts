import type { Bundle, Patient } from 'fhir/r4';
import type { IdentityLinker } from '../identity/linker.ts';
import type { WrittenRef } from '../inbox/types.ts';

/** A new Patient of the transaction (entry `index`) and the person reserved for it. */
export interface FoundedPerson {
  index: number;
  personId: string;
}

/**
 * Writes identity's part for new residents with the message (`identity/founding.ts`): each
 * conditional create of a Patient that resembles no record gets its reserved person's golden
 * record as a further entry and a `refer` link to it. Anything that goes wrong here only means the
 * linker does it the long way after the write.
 */
export async function foundPersons(
  identity: IdentityLinker | undefined,
  bundle: Bundle,
  creates: ReadonlySet<number>,
  institution: string,
  fhirBaseUrl: string,
): Promise<FoundedPerson[]> {
  if (!identity?.foundingFor) return [];
  const founded: FoundedPerson[] = [];
  for (const index of creates) {
    const entry = bundle.entry?.[index];
    if (entry?.resource?.resourceType !== 'Patient' || !entry.fullUrl) continue;
    const patient = entry.resource as Patient;
    const founding = await identity.foundingFor(patient, institution, entry.fullUrl).catch(() => undefined);
    if (!founding) continue;
    patient.link = [
      ...(patient.link ?? []).filter((l) => l.type !== 'refer'),
      { other: { reference: `Patient/${founding.personId}` }, type: 'refer' },
    ];
    bundle.entry!.push({
      // A PUT's fullUrl is the resource's own URL, as identity's golden-record writes name it.
      fullUrl: `${fhirBaseUrl.replace(/\/$/, '')}/Patient/${founding.personId}`,
      resource: founding.golden,
      request: { method: 'PUT', url: `Patient/${founding.personId}` },
    });
    founded.push({ index, personId: founding.personId });
  }
  return founded;
}

/**
 * After a transaction the repository refused: nothing of it was written, so the reserved persons
 * are given back. Only a 4xx answer says so for certain; after a 5xx or a lost connection the
 * transaction may have committed, and the reservation stays for the retry to find.
 */
export async function releaseRefused(
  identity: IdentityLinker | undefined,
  founded: readonly FoundedPerson[],
  err: unknown,
): Promise<void> {
  const status = (err as { response?: { status?: number } })?.response?.status;
  if (!identity?.releaseFounding || typeof status !== 'number' || status < 400 || status >= 500) return;
  for (const f of founded) await identity.releaseFounding(f.personId).catch(() => undefined);
}

/**
 * The persons whose Patient this transaction did create (201). A conditional create that found the
 * Patient another message had just created (200) wrote the golden record without its record: the
 * person is retired at once (inactive golden record, as a person left without records).
 */
export async function settleFounded(
  identity: IdentityLinker | undefined,
  founded: readonly FoundedPerson[],
  written: readonly WrittenRef[],
): Promise<Map<number, string>> {
  const kept = new Map<number, string>();
  for (const f of founded) {
    if (written[f.index]?.status.startsWith('201')) kept.set(f.index, f.personId);
    else await identity!.refreshPerson(f.personId);
  }
  return kept;
}
