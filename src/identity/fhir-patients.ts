import type { Patient } from 'fhir/r4';
import { Client } from 'fhir-kit-client';
import { stringifyFhirJson } from '../kernel/fhir-json.ts';
import { combineTransactions, type PatientPuts } from './combined-transactions.ts';
import type { PatientRepository } from './linker.ts';

/**
 * Identity's access to Patients over FHIR REST (fhir-kit-client), so that it works against any
 * FHIR server the worker writes to. `token(fresh)` gives a bearer token; a 401 gets one more try
 * with a fresh one. Errors carry the HTTP `status` (412 for a stale If-Match). Transactions from
 * concurrent callers share one request (`combineTransactions`).
 */
export function fhirPatientRepository(opts: {
  fhirBaseUrl: string;
  token: (fresh?: boolean) => Promise<string>;
  timeoutMs?: number;
}): PatientRepository {
  const client = new Client({ baseUrl: opts.fhirBaseUrl });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const call = async <T>(fn: (headers: Record<string, string>, signal: AbortSignal) => Promise<T>) => {
    for (let fresh = false; ; fresh = true) {
      const headers = { authorization: `Bearer ${await opts.token(fresh)}` };
      try {
        return await fn(headers, AbortSignal.timeout(timeoutMs));
      } catch (err) {
        const status = (err as { response?: { status?: number } })?.response?.status;
        if (!fresh && status === 401) continue;
        // The socket error stays as the cause: the worker tells "never reached" from a failed request.
        throw Object.assign(
          new Error(`FHIR request failed${status ? ` (HTTP ${status})` : ''}`, {
            cause: (err as Error)?.cause,
          }),
          { status },
        );
      }
    }
  };
  const sendTransaction = async (puts: PatientPuts) => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: puts.map(({ patient, ifMatch }) => ({
        fullUrl: `${opts.fhirBaseUrl.replace(/\/$/, '')}/Patient/${patient.id!}`,
        resource: patient,
        request: {
          method: 'PUT',
          url: `Patient/${encodeURIComponent(patient.id!)}`,
          ...(ifMatch ? { ifMatch: `W/"${ifMatch}"` } : {}),
        },
      })),
    };
    // The answer is not read beyond its status: no resources back.
    await call((headers, signal) =>
      client.httpClient.post('/', stringifyFhirJson(bundle), {
        headers: { ...headers, prefer: 'return=minimal' },
        signal,
      }),
    );
  };
  return {
    read: (id) =>
      call((headers, signal) =>
        client.httpClient.get(`Patient/${encodeURIComponent(id)}`, { headers, signal }),
      ) as Promise<Patient>,
    transaction: combineTransactions(sendTransaction),
    update: async (patient, ifMatch) => {
      await call((headers, signal) =>
        client.httpClient.put(`Patient/${encodeURIComponent(patient.id!)}`, stringifyFhirJson(patient), {
          headers: { ...headers, ...(ifMatch ? { 'if-match': `W/"${ifMatch}"` } : {}) },
          signal,
        }),
      );
    },
  };
}
