import type { Bundle, BundleEntry, Patient } from 'fhir/r4';
import { Client } from 'fhir-kit-client';
import type { SigningKey } from '../auth/signing-key.ts';
import { issueToken, workerClaims } from '../auth/issue-token.ts';
import { issue, outcome } from '../kernel/outcomes.ts';
import { stringifyFhirJson } from '../kernel/fhir-json.ts';
import { isConnectionError } from '../db/database.ts';
import type { IdentityLinker, WrittenPatient } from '../identity/linker.ts';
import type { InboundMessage, WrittenRef } from '../inbox/types.ts';
import { batchedLookup } from './batched-lookup.ts';
import { foundPersons, releaseRefused, settleFounded } from './identity-first.ts';
import { WriteError, classifyRequestError, isPreconditionFailed, neverReached } from './write-errors.ts';
import { eventTimeExtension, eventTimeOf, planWrite } from './write-plan.ts';

/** Writes one archived message's mapped Bundle to the FHIR repository. */
export interface RepositoryWriter {
  /** Throws `WriteError` (transient or permanent). */
  write(message: InboundMessage): Promise<WrittenRef[]>;
}

/** A bearer token for the repository; `fresh` forces a new one (after a 401). */
export type TokenSource = (fresh?: boolean) => Promise<string>;

/**
 * Tokens of the internal client `hie-worker`, signed with the local key. A token lives 5 minutes
 * and is renewed a minute before it expires, so a request never leaves with a dying token.
 */
export function workerTokenSource(key: SigningKey, publicUrl: string, ttlSeconds = 300): TokenSource {
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return async (fresh = false) => {
    if (!fresh && current && Date.now() < current.renewAt) return current.token;
    // Concurrent jobs share one renewal.
    pending ??= issueToken(key, workerClaims(publicUrl), ttlSeconds)
      .then((token) => {
        current = { token, renewAt: Date.now() + Math.max(ttlSeconds - 60, ttlSeconds / 2) * 1000 };
        return token;
      })
      .finally(() => (pending = undefined));
    return pending;
  };
}

export interface RepositoryWriterOptions {
  /** HIE_FHIR_BASE_URL */
  fhirBaseUrl: string;
  /** HIE_CANONICAL_BASE */
  canonicalBase: string;
  token: TokenSource;
  /** Re-reads after a 412 (or a create that lost a race) before the job is retried by BullMQ. */
  maxConflictRetries?: number;
  requestTimeoutMs?: number;
  /** The identity stage: resolves each written Patient to its person (absent: no linking). */
  identity?: IdentityLinker;
}

/** fhir-kit-client against `HIE_FHIR_BASE_URL`: read the current matches, then one transaction. */
export function createRepositoryWriter(opts: RepositoryWriterOptions): RepositoryWriter {
  const client = new Client({ baseUrl: opts.fhirBaseUrl });
  const maxRetries = opts.maxConflictRetries ?? 5;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const extUrl = eventTimeExtension(opts.canonicalBase);

  /** Runs a request with the worker's token; a 401 gets one more try with a new token. */
  const call = async <T>(
    fn: (headers: Record<string, string>, signal: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    for (let fresh = false; ; fresh = true) {
      const headers = { authorization: `Bearer ${await opts.token(fresh)}` };
      try {
        return await fn(headers, AbortSignal.timeout(timeoutMs));
      } catch (err) {
        if (!fresh && (err as { response?: { status?: number } })?.response?.status === 401) continue;
        throw err;
      }
    }
  };

  const lookup = batchedLookup(
    (batch) =>
      call((headers, signal) =>
        client.httpClient.post('/', JSON.stringify(batch), { headers, signal }),
      ) as unknown as Promise<Bundle>,
    (type, found) =>
      (found.entry ?? [])
        .filter((e) => e.resource?.resourceType === type && (e.search?.mode ?? 'match') === 'match')
        .map((e) => {
          const r = e.resource!;
          const refer =
            r.resourceType === 'Patient' ? ((r as Patient).link ?? []).filter((l) => l.type === 'refer') : [];
          return {
            id: r.id!,
            ...(r.meta?.versionId ? { versionId: r.meta.versionId } : {}),
            ...(eventTimeOf(r, extUrl) ? { eventTime: eventTimeOf(r, extUrl)! } : {}),
            ...(refer.length > 0 ? { referLinks: refer } : {}),
          };
        }),
  );

  /** Hands the Patients the transaction wrote to identity (a failure there retries the job). */
  const linkPatients = async (
    message: InboundMessage,
    sent: Bundle,
    written: WrittenRef[],
    founded: ReadonlyMap<number, string>,
  ) => {
    const patients: WrittenPatient[] = [];
    (sent.entry ?? []).forEach((entry, i) => {
      const ref = written[i];
      if (entry.resource?.resourceType !== 'Patient' || !ref || !/^20[01]/.test(ref.status)) return;
      patients.push({
        ref: ref.reference,
        ...(ref.versionId ? { versionId: ref.versionId } : {}),
        patient: entry.resource as Patient,
        institution: message.institution,
        ...(founded.has(i) ? { founded: founded.get(i)! } : {}),
      });
    });
    if (patients.length === 0) return;
    try {
      await opts.identity!.linkWritten(patients);
    } catch (err) {
      // PostgreSQL away: the worker waits for it without spending an attempt.
      if (isConnectionError(err)) throw err;
      const status = (err as { status?: number }).status;
      // Identity's own reads and writes go to the same repository: one it cannot reach is waited
      // out like the transaction's, without spending the message's attempts.
      throw new WriteError(
        'transient',
        'HIE-IDENTITY',
        status === 503 ? 503 : undefined,
        outcome(
          issue({
            code: 'transient',
            diagnostics: `Linking the patient to its person failed: ${(err as Error).message}`,
            hieCode: 'HIE-IDENTITY',
          }),
        ),
        neverReached(err),
      );
    }
  };

  return {
    async write(message) {
      if (!message.bundle) {
        throw new WriteError(
          'permanent',
          'HIE-WRITE-NO-BUNDLE',
          undefined,
          outcome(
            issue({
              code: 'processing',
              diagnostics: 'The message has no mapped Bundle to write',
              hieCode: 'HIE-WRITE-NO-BUNDLE',
            }),
          ),
        );
      }
      for (let attempt = 0; ; attempt++) {
        try {
          const plan = await planWrite(message, message.bundle, lookup, opts.canonicalBase);
          if (!plan.bundle) return plan.skipped;
          const founding = await foundPersons(
            opts.identity,
            plan.bundle,
            plan.creates,
            message.institution,
            opts.fhirBaseUrl,
          );
          // A string body: fhir-kit-client would JSON.stringify an object and lose exact decimals.
          const body = stringifyFhirJson(plan.bundle);
          // Only each entry's status, location and ETag are read: the stored resources are not
          // sent back (they were most of the answer's bytes, serialised and parsed for nothing).
          const response = (await call((headers, signal) =>
            client.httpClient.post('/', body, { headers: { ...headers, prefer: 'return=minimal' }, signal }),
          ).catch(async (err: unknown) => {
            await releaseRefused(opts.identity, founding, err);
            throw err;
          })) as unknown as Bundle;
          const written = writtenRefs(response.entry ?? []);
          const founded = await settleFounded(opts.identity, founding, written);
          // A conditional create that found the resource (200): another message created it after our
          // read, and this one's content was not applied. Writing again applies the ordering rule.
          const lostRace = [...plan.creates].some((i) => written[i]?.status.startsWith('200'));
          if (!lostRace || attempt >= maxRetries) {
            if (opts.identity) await linkPatients(message, plan.bundle, written, founded);
            return [...written, ...plan.skipped];
          }
        } catch (err) {
          if (isPreconditionFailed(err) && attempt < maxRetries) continue;
          throw classifyRequestError(err);
        }
      }
    },
  };
}

const LOCATION = /([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?\/?$/;

/** Reference, version and status of each entry of a transaction-response. */
function writtenRefs(entries: BundleEntry[]): WrittenRef[] {
  return entries.map((e) => {
    const status = e.response?.status ?? 'unknown';
    const m = LOCATION.exec(e.response?.location ?? e.fullUrl ?? '');
    const version = m?.[3] ?? /W\/"([^"]+)"/.exec(e.response?.etag ?? '')?.[1] ?? e.resource?.meta?.versionId;
    const ref: WrittenRef = { reference: m ? `${m[1]}/${m[2]}` : (e.response?.location ?? ''), status };
    if (version) ref.versionId = version;
    return ref;
  });
}
