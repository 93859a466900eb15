import { isConnectionError } from '../db/database.ts';
import type { Database } from '../db/database.ts';
import { ensureDemoKeys, rotateInstitutionKey, type InstitutionKey } from './institution-keys.ts';
import { readInstitutions } from './institution-rows.ts';
import { addInstitutions, setInstitutionActive } from './manage.ts';
import type { Institution, InstitutionRegistry } from './types.ts';

interface Snapshot {
  loadedAt: number;
  byId: Map<string, Institution>;
  list: Institution[];
  /** Facility codes of active institutions only: a disabled one can send nothing. */
  byFacility: Map<string, Institution>;
}

/**
 * The registry read from PostgreSQL. The table is small (a county has tens to a few hundred
 * members) and read on every message, so the whole of it is cached for a few seconds. Writes
 * through this process call `invalidate()`; writes from elsewhere (the `hie` command) show after
 * at most `ttlMs`, which bounds how long a disabled institution can still get a token.
 *
 * Returned objects are frozen and shared: callers must copy before changing them.
 */
export class PostgresInstitutionRegistry implements InstitutionRegistry {
  private snapshot: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;
  /** Bumped by `invalidate()`, so a load that started before a write never becomes the cache. */
  private generation = 0;
  private readonly ttlMs: number;

  constructor(
    private readonly db: Database,
    opts: { ttlMs?: number } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5_000;
  }

  async get(id: string): Promise<Institution | undefined> {
    return (await this.current()).byId.get(id);
  }

  async list(): Promise<Institution[]> {
    return [...(await this.current()).list];
  }

  async byFacilityCode(code: string): Promise<Institution | undefined> {
    return (await this.current()).byFacility.get(code);
  }

  /** `addInstitutions` through this registry, so its own readers see the change at once. */
  async add(content: unknown, opts: { replace?: boolean } = {}): Promise<Institution[]> {
    return this.writing(() => addInstitutions(this.db, content, opts));
  }

  async setActive(id: string, active: boolean): Promise<Institution> {
    return this.writing(() => setInstitutionActive(this.db, id, active));
  }

  async rotateKey(dataDir: string, id: string): Promise<InstitutionKey> {
    return this.writing(() => rotateInstitutionKey(this.db, dataDir, id));
  }

  async ensureDemoKeys(dataDir: string): Promise<string[]> {
    return this.writing(() => ensureDemoKeys(this.db, dataDir));
  }

  /** Runs a write, then drops the cache even when the write failed half-way. */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.invalidate();
    }
  }

  /** Drops the cache; the next read goes to the database. */
  invalidate(): void {
    this.snapshot = undefined;
    this.loading = undefined;
    this.generation++;
  }

  private current(): Promise<Snapshot> {
    const s = this.snapshot;
    if (s && Date.now() - s.loadedAt < this.ttlMs) return Promise.resolve(s);
    // Concurrent readers share one query instead of each loading the table.
    if (!this.loading) {
      // PostgreSQL away: the last known registry keeps serving, so the stages can still say
      // "storage down" in the sender's terms (AR / 207, 503) instead of failing on the lookup.
      const loading = this.load()
        .catch((err: unknown) => {
          if (s && isConnectionError(err)) return s;
          throw err;
        })
        .finally(() => {
          if (this.loading === loading) this.loading = undefined;
        });
      this.loading = loading;
    }
    return this.loading;
  }

  private async load(): Promise<Snapshot> {
    const loadedAt = Date.now();
    const generation = this.generation;
    const list = (await readInstitutions(this.db)).map(deepFreeze);
    const byFacility = new Map<string, Institution>();
    for (const inst of list) {
      if (!inst.active) continue;
      for (const code of inst.facilityCodes) byFacility.set(code, inst);
    }
    const snapshot = { loadedAt, list, byId: new Map(list.map((i) => [i.id, i])), byFacility };
    if (generation === this.generation) this.snapshot = snapshot;
    return snapshot;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
