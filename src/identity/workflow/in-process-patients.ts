import type { Patient } from 'fhir/r4';
import { parseFhirJson } from '../../kernel/fhir-json.ts';
import type { FhirRepository } from '../../repository/store/fhir-repository.ts';
import type { PatientRepository } from '../linker.ts';

/**
 * Patients through the gateway's own repository, for identity parts that run inside the HTTP
 * process (the review routes, `$match`, `$ihe-pix`): no token and no round trip over HTTP. The
 * worker keeps using `fhirPatientRepository`, as it may write to another FHIR server. A stale
 * If-Match fails with the repository's 412, as `PatientRepository.update` promises.
 */
export function inProcessPatients(repo: FhirRepository): PatientRepository & {
  /** The Patient, or undefined when it does not exist (or was deleted). */
  find(ref: string): Promise<Patient | undefined>;
} {
  const read = async (id: string): Promise<Patient> => {
    const stored = await repo.read('Patient', id);
    // Lossless: a Patient written back keeps its decimals exactly as stored.
    return parseFhirJson(stored.json!) as Patient;
  };
  return {
    read,
    async find(ref) {
      const id = ref.startsWith('Patient/') ? ref.slice('Patient/'.length) : ref;
      try {
        return await read(id);
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status === 404 || status === 410) return undefined;
        throw err;
      }
    },
    async update(patient, ifMatch) {
      // An emptied person's golden record comes from the linker with `link: []`, which FHIR JSON
      // (and so the repository) refuses: no links is no element. (The linker should leave it out.)
      const { link, ...rest } = patient;
      const body = link && link.length > 0 ? patient : rest;
      await repo.update('Patient', patient.id!, body as Record<string, any>, {
        ...(ifMatch !== undefined ? { ifMatch: Number(ifMatch) } : {}),
      });
    },
  };
}
