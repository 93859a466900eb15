import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Selection } from './build-summary.ts';
import type { Person } from './person.ts';

/**
 * Summaries kept between requests. Building one reads and merges hundreds of rows (≈100 ms of
 * SQL and CPU for a record of 1,000 resources); a referred resident's summary is opened again and
 * again, by several clinicians, while the record rarely changes in between. So each person's
 * selection is kept with the documents built from it, under the record's state
 * (`recordStateOf`, one statement of index look-ups per request): any write, delete, link change
 * or translation change, from this process or another, gives a new state and the next request
 * reads the record anew. The time-bound rules (recent results, recognition windows) are why a
 * kept summary also expires after `ttlMs`.
 *
 * Which entries the caller may see picks the document (a caller with entries withheld never
 * gets a document built for one without).
 */
export interface SummaryCacheSettings {
  /** How long a built summary serves; 0 turns the cache off. */
  ttlMs: number;
  /** Memory held for kept selections and documents, in bytes (least recently used go first). */
  maxBytes: number;
}

interface PersonEntry {
  fingerprint: string;
  builtAt: Date;
  selection: Selection;
  /** Serialised documents by language, viewer institution and withheld entries. */
  documents: Map<string, Promise<KeptDocument>>;
  /** Estimated memory of the selection and the documents built so far. */
  bytes: number;
}

/** The kept documents of one person at one fingerprint, as `summaryOperation` uses them. */
export interface CachedPerson {
  /** The time the selection was read at: the document's `timestamp` and its windows' end. */
  builtAt: Date;
  selection: Selection;
  /** The document for `key`, built by `build` once (concurrent callers share the build). */
  document: (key: string, build: () => Promise<string>) => Promise<KeptDocument>;
}

/**
 * One kept document: its JSON text and, made on the first request that accepts it, the same
 * bytes gzip-compressed — a summary is most of a megabyte of JSON that compresses about tenfold,
 * and writing it to the socket is then most of what a kept summary costs.
 */
export class KeptDocument {
  private compressed?: Promise<Buffer>;

  constructor(
    readonly text: string,
    private readonly onCompressed: (bytes: number) => void,
  ) {}

  gzip(): Promise<Buffer> {
    this.compressed ??= gzipAsync(Buffer.from(this.text, 'utf8')).then((b) => {
      this.onCompressed(b.length);
      return b;
    });
    return this.compressed;
  }
}

export class SummaryCache {
  /** Kept people, least recently used first (a Map iterates in insertion order). */
  private readonly people = new Map<string, PersonEntry>();
  /** Selections being read, so that concurrent first requests for a person share one read. */
  private readonly reading = new Map<string, Promise<PersonEntry>>();
  private bytes = 0;
  /** Documents served from the cache and documents built, since start. */
  readonly counts = { hits: 0, builds: 0 };

  constructor(
    private readonly settings: SummaryCacheSettings,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get enabled(): boolean {
    return this.settings.ttlMs > 0 && this.settings.maxBytes > 0;
  }

  /**
   * The person's kept selection if it was read at this `fingerprint` (`recordStateOf`) and has
   * not expired, else a fresh one read by `read` at the current time.
   */
  async person(
    person: Person,
    fingerprint: string,
    read: (asOf: Date) => Promise<Selection>,
  ): Promise<CachedPerson> {
    const goldenId = String(person.golden.id);
    const now = this.clock();
    let entry = this.people.get(goldenId);
    if (
      entry &&
      (entry.fingerprint !== fingerprint || now.getTime() - entry.builtAt.getTime() >= this.settings.ttlMs)
    ) {
      this.forget(goldenId, entry);
      entry = undefined;
    }
    if (entry) {
      this.people.delete(goldenId);
      this.people.set(goldenId, entry);
    } else {
      entry = await this.read(goldenId, fingerprint, now, read);
    }
    const kept = entry;
    return {
      builtAt: kept.builtAt,
      selection: kept.selection,
      document: (key, build) => this.document(goldenId, kept, key, build),
    };
  }

  private async read(
    goldenId: string,
    fingerprint: string,
    now: Date,
    read: (asOf: Date) => Promise<Selection>,
  ): Promise<PersonEntry> {
    const readingKey = `${goldenId}|${fingerprint}`;
    const pending = this.reading.get(readingKey);
    if (pending) return pending;
    const reading = read(now).then((selection) => {
      const entry: PersonEntry = {
        fingerprint,
        builtAt: now,
        selection,
        documents: new Map(),
        bytes: approximateBytes(selection),
      };
      const older = this.people.get(goldenId);
      if (older) this.forget(goldenId, older);
      this.people.set(goldenId, entry);
      this.bytes += entry.bytes;
      this.evict(goldenId);
      return entry;
    });
    this.reading.set(readingKey, reading);
    try {
      return await reading;
    } finally {
      this.reading.delete(readingKey);
    }
  }

  private async document(
    goldenId: string,
    entry: PersonEntry,
    key: string,
    build: () => Promise<string>,
  ): Promise<KeptDocument> {
    const kept = entry.documents.get(key);
    if (kept) {
      this.counts.hits++;
      return kept;
    }
    this.counts.builds++;
    const building = build().then((text) => {
      // Strings are UTF-16 in memory: two bytes a character at most.
      this.grow(goldenId, entry, text.length * 2);
      return new KeptDocument(text, (bytes) => this.grow(goldenId, entry, bytes));
    });
    entry.documents.set(key, building);
    try {
      return await building;
    } catch (err) {
      entry.documents.delete(key);
      throw err;
    }
  }

  private grow(goldenId: string, entry: PersonEntry, bytes: number): void {
    entry.bytes += bytes;
    if (this.people.get(goldenId) !== entry) return;
    this.bytes += bytes;
    this.evict(goldenId);
  }

  private forget(goldenId: string, entry: PersonEntry): void {
    if (this.people.get(goldenId) !== entry) return;
    this.people.delete(goldenId);
    this.bytes -= entry.bytes;
  }

  /** Drops the least recently used people until the memory bound holds; never the one just used. */
  private evict(keep: string): void {
    for (const [id, entry] of this.people) {
      if (this.bytes <= this.settings.maxBytes) return;
      if (id !== keep) this.forget(id, entry);
    }
  }
}

const gzipAsync = promisify(gzip);

/** Kept JS objects take a few times their JSON text; counted once when the selection is read. */
function approximateBytes(selection: Selection): number {
  return JSON.stringify(selection.entries).length * 3;
}

/** A short key for the entries a caller may not see (empty when it sees all). */
export function withheldKey(ids: string[]): string {
  if (ids.length === 0) return '';
  return createHash('sha256')
    .update([...ids].sort().join('\n'))
    .digest('base64url')
    .slice(0, 22);
}
