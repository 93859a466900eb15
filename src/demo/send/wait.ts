/** Where the archive stands for the institutions of a load. */
export interface ArchiveCounts {
  /** Messages still queued (not yet stored or failed). */
  queued: number;
  /** Messages that reached `failed` since the load started (gateway refusals and worker failures). */
  failed: number;
}

export interface WaitOptions {
  publicUrl: string;
  institutions: readonly string[];
  /** A token that may list each institution's messages: the institution's own, or an administrator's. */
  bearer: (institution: string) => Promise<string>;
  /** Counts failures received since then (ISO). */
  since: string;
  timeoutMs?: number;
  pollMs?: number;
  onPoll?: (counts: ArchiveCounts) => void;
  signal?: AbortSignal;
}

/**
 * Polls `GET /ingest/messages` until none of the institutions has a queued message: the worker
 * has stored or failed everything sent. Resolves with the last counts; rejects on timeout.
 */
export async function waitUntilFinal(opts: WaitOptions): Promise<ArchiveCounts> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  for (;;) {
    opts.signal?.throwIfAborted();
    const counts = await archiveCounts(opts);
    opts.onPoll?.(counts);
    if (counts.queued === 0) return counts;
    if (Date.now() > deadline)
      throw new Error(`${counts.queued} messages still queued after ${opts.timeoutMs ?? 600_000} ms`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

export async function archiveCounts(
  opts: Pick<WaitOptions, 'publicUrl' | 'institutions' | 'bearer' | 'since'>,
): Promise<ArchiveCounts> {
  let queued = 0;
  let failed = 0;
  for (const institution of opts.institutions) {
    const token = await opts.bearer(institution);
    queued += await countPages(opts.publicUrl, token, { status: 'queued', institution });
    failed += await countPages(opts.publicUrl, token, { status: 'failed', institution, since: opts.since });
  }
  return { queued, failed };
}

async function countPages(publicUrl: string, token: string, filter: Record<string, string>): Promise<number> {
  let url: string | undefined = `/ingest/messages?${new URLSearchParams({ ...filter, _count: '500' })}`;
  let n = 0;
  while (url) {
    const res = await fetch(`${publicUrl}${url}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    const page = (await res.json()) as { items: unknown[]; next?: string };
    n += page.items.length;
    url = page.next;
  }
  return n;
}
