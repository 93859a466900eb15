import { expect } from 'vitest';
import { adminClaims } from '../../src/auth/issue-token.ts';
import type { AccessCounty } from './county-fixture.ts';

type Json = Record<string, any>;

export interface AuditProbe {
  /** AuditEvents naming `reference` as an entity, read back through `/fhir/AuditEvent` as the operator. */
  eventsAbout(reference: string): Promise<Json[]>;
  /** Runs `act` and returns the one AuditEvent about `reference` it left (exactly one must appear). */
  oneEventAbout<T>(reference: string, act: () => Promise<T>): Promise<{ result: T; event: Json }>;
}

/** Reads the app's audit trail the way an auditor would: through `/fhir/AuditEvent?entity=`. */
export async function auditTrailOf(c: AccessCounty): Promise<AuditProbe> {
  // The probe's own searches are audited too (they name the patients in the events they return):
  // it reads as an operator of its own subject, whose events it then leaves out.
  const auditor = await c.sign({ ...adminClaims(c.publicUrl), sub: 'audit-probe' });
  const eventsAbout = async (reference: string) => {
    // The app records an event when the response has finished, which in one process can come a
    // moment after the client has read the answer: let the event loop turn before flushing.
    await new Promise((r) => setTimeout(r, 20));
    await c.trail.flush();
    const r = await c.call(auditor, `/fhir/AuditEvent?entity=${encodeURIComponent(reference)}&_count=1000`);
    expect(r.status).toBe(200);
    return ((r.body.entry ?? []) as Json[])
      .map((e) => e.resource as Json)
      .filter((e) => !(e.agent ?? []).some((a: Json) => a.altId === 'audit-probe'));
  };
  return {
    eventsAbout,
    async oneEventAbout(reference, act) {
      const before = new Set((await eventsAbout(reference)).map((e) => e.id));
      const result = await act();
      const fresh = (await eventsAbout(reference)).filter((e) => !before.has(e.id));
      expect(fresh, `AuditEvents about ${reference}: ${JSON.stringify(fresh)}`).toHaveLength(1);
      return { result, event: fresh[0]! };
    },
  };
}
