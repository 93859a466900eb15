import type { MergeCompleter } from '../linker.ts';

/**
 * The worker's way to finish an ADT A40 merge: `POST Patient/$merge` on the exchange's FHIR API
 * with its own token, so a sender's merge ends in exactly the state an administrator's `$merge`
 * leaves (the operation lets the worker only finish merges the sender declared). A 401 gets one
 * more try with a fresh token; any other failure is thrown with its HTTP `status`, and the
 * message is retried (and, in the end, kept as failed with the reason).
 */
export function fhirMergeCompleter(opts: {
  fhirBaseUrl: string;
  token: (fresh?: boolean) => Promise<string>;
  timeoutMs?: number;
}): MergeCompleter {
  const url = `${opts.fhirBaseUrl.replace(/\/$/, '')}/Patient/$merge`;
  return {
    async complete(sourceRef, targetRef) {
      const body = JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: 'source-patient', valueReference: { reference: sourceRef } },
          { name: 'target-patient', valueReference: { reference: targetRef } },
        ],
      });
      for (let fresh = false; ; fresh = true) {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await opts.token(fresh)}`,
            'content-type': 'application/fhir+json',
          },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
        });
        if (res.ok) {
          await res.arrayBuffer();
          return;
        }
        const text = await res.text();
        if (res.status === 401 && !fresh) continue;
        const reason = /"diagnostics"\s*:\s*"([^"]*)"/.exec(text)?.[1] ?? text.slice(0, 200);
        throw Object.assign(
          new Error(
            `Completing the merge of ${sourceRef} into ${targetRef} failed (HTTP ${res.status}): ${reason}`,
          ),
          { status: res.status },
        );
      }
    },
  };
}
