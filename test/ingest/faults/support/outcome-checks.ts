import { expect } from 'vitest';

export interface ArchivedMessage {
  controlId: string;
  institution: string;
  /** ISO 8601, UTC. */
  receivedAt: string;
}

/** What the fault tests read back through the API of a running system, as its administrator. */
export interface SystemReader {
  /** Every archived message in a state (`queued`, `stored`, `failed`), all pages. */
  messages(status: string): Promise<ArchivedMessage[]>;
  /** Identifier value → how many live resources of the type carry it in that system. */
  byIdentifier(type: string, system: string): Promise<Record<string, number>>;
  /** How many Provenances the repository holds (one per message written). */
  provenances(): Promise<number>;
  /** Polls until no message is `queued`; returns how long that took. */
  drained(timeoutMs: number): Promise<number>;
}

export function systemReader(url: string, adminToken: string): SystemReader {
  const admin = { authorization: `Bearer ${adminToken}` };
  const messages: SystemReader['messages'] = async (status) => {
    const items: ArchivedMessage[] = [];
    let page: string | undefined = `/ingest/messages?status=${status}&_count=500`;
    while (page) {
      const res = await fetch(`${url}${page}`, { headers: admin });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: typeof items; next?: string };
      items.push(...body.items);
      page = body.next;
    }
    return items;
  };
  return {
    messages,
    async byIdentifier(type, system) {
      const res = await fetch(
        `${url}/fhir/${type}?identifier=${encodeURIComponent(`${system}|`)}&_count=1000`,
        { headers: admin },
      );
      expect(res.status).toBe(200);
      const bundle = (await res.json()) as {
        entry?: { resource: { identifier?: { system?: string; value?: string }[] } }[];
        link?: { relation: string }[];
      };
      expect(bundle.link?.some((l) => l.relation === 'next') ?? false).toBe(false);
      const counts: Record<string, number> = {};
      for (const e of bundle.entry ?? []) {
        for (const id of e.resource.identifier ?? [])
          if (id.system === system && id.value) counts[id.value] = (counts[id.value] ?? 0) + 1;
      }
      return counts;
    },
    async provenances() {
      const res = await fetch(`${url}/fhir/Provenance?_summary=count`, { headers: admin });
      return ((await res.json()) as { total?: number }).total ?? -1;
    },
    async drained(timeoutMs) {
      const started = Date.now();
      for (;;) {
        const queued = await messages('queued');
        if (queued.length === 0) return Date.now() - started;
        if (Date.now() - started > timeoutMs)
          throw new Error(`${queued.length} messages still queued ${timeoutMs} ms after the restart`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
  };
}
