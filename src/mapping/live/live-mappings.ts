import path from 'node:path';
import type { ConceptMap } from 'fhir/r4';
import type { Logger } from '../../kernel/logger.ts';
import {
  loadMappings,
  MappingLoadError,
  type CompiledMapping,
  type Hl7Selection,
  type LoadedConceptMap,
  type LoadProblem,
  type MappingSet,
} from '../engine/index.ts';
import { readConceptMapResources, type ConceptMapSource } from './concept-map-resources.ts';
import { watchTree, type TreeWatcher, type WatchMode } from './watch-tree.ts';

export interface MappingUsage {
  /** Messages mapped by this mapping id since the process started (replays included, tests not). */
  used: number;
  lastUsedAt?: string;
}

/** Why the files on disk are not what serves: the refused reload, with file, line and reason. */
export interface LoadFailure {
  at: string;
  problems: LoadProblem[];
}

/**
 * A MappingSet that follows `mappings/` on disk: it can stand wherever a MappingSet does
 * (FeedStageParts.mappings) and always answers from the last set that loaded completely.
 */
export interface LiveMappings extends MappingSet, ConceptMapSource {
  readonly dir: string;
  /** How changes are noticed; `off` when created with `watch: 'off'` (reload() only). */
  readonly watchMode: WatchMode | 'off';
  /** When the serving set was loaded. */
  readonly loadedAt: string;
  /** The serving set itself (a snapshot that will not change under the caller). */
  current(): MappingSet;
  usage(id: string): MappingUsage;
  countUse(id: string): void;
  /** The last refused reload while it is still unresolved; cleared by the next successful one. */
  lastError(): LoadFailure | undefined;
  /** Loads the folder again now; a refused set leaves the serving one in place. */
  reload(): Promise<'reloaded' | 'refused'>;
  close(): Promise<void>;
}

export interface LiveMappingsOptions {
  logger: Logger;
  /** Quiet time after the last file event before reloading (default 200 ms). */
  debounceMs?: number;
  /** Poll interval where folders cannot be watched (default 2 s). */
  pollMs?: number;
  /** `auto` (default): folder watches, falling back to polling; `poll`; `off`: reload() only. */
  watch?: 'auto' | 'poll' | 'off';
}

interface Snapshot {
  set: MappingSet;
  resources: Map<string, ConceptMap>;
  loadedAt: string;
  /** select() hands out counting wrappers; made once per mapping and set, not per message. */
  counting: WeakMap<CompiledMapping, CompiledMapping>;
}

export function isLiveMappings(set: MappingSet): set is LiveMappings {
  return set instanceof Live;
}

/**
 * Loads `dir` (a MappingLoadError at start is thrown: there is no previous set to fall back on)
 * and watches it. Every change reloads the whole folder, because mappings refer to ConceptMaps
 * and ties are only visible across files; a set that does not load is refused as a whole.
 */
export async function createLiveMappings(dir: string, opts: LiveMappingsOptions): Promise<LiveMappings> {
  const root = path.resolve(dir);
  const live = new Live(root, opts.logger, await loadSnapshot(root));
  if (opts.watch !== 'off') {
    live.watcher = watchTree(
      root,
      () => {
        void live.reload();
      },
      {
        debounceMs: opts.debounceMs ?? 200,
        pollMs: opts.pollMs ?? 2_000,
        ...(opts.watch === 'poll' ? { mode: 'poll' as const } : {}),
        onError: (err) => opts.logger.warn({ err: err.message, dir: root }, 'mapping folder watch problem'),
      },
    );
  }
  opts.logger.info(
    { dir: root, watch: live.watchMode, mappings: describe(live.current()) },
    'mappings loaded',
  );
  return live;
}

async function loadSnapshot(dir: string): Promise<Snapshot> {
  const set = await loadMappings(dir);
  return {
    set,
    resources: await readConceptMapResources(set),
    loadedAt: new Date().toISOString(),
    counting: new WeakMap(),
  };
}

function describe(set: MappingSet): string[] {
  return set.mappings.map((m) => `${m.id}@${m.version}`);
}

class Live implements LiveMappings {
  watcher: TreeWatcher | undefined;
  private readonly uses = new Map<string, MappingUsage>();
  private failure: LoadFailure | undefined;
  /** Reloads run one after another: two overlapping loads could otherwise finish out of order. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    private snap: Snapshot,
  ) {}

  get watchMode(): WatchMode | 'off' {
    return this.watcher?.mode ?? 'off';
  }
  get loadedAt(): string {
    return this.snap.loadedAt;
  }
  get mappings(): readonly CompiledMapping[] {
    return this.snap.set.mappings;
  }
  get conceptMaps(): ReadonlyMap<string, LoadedConceptMap> {
    return this.snap.set.conceptMaps;
  }

  current(): MappingSet {
    return this.snap.set;
  }

  conceptMapResources(): ReadonlyMap<string, ConceptMap> {
    return this.snap.resources;
  }

  /** The mapping that will handle a feed message; its `map` counts the use. */
  select(input: { institution: string; format: string; feed: string }): CompiledMapping | undefined {
    return this.counted(this.snap, this.snap.set.select(input));
  }

  /** The HL7 v2 mapping file that will handle a message (undefined: none — AR); counted. */
  selectHl7(input: Hl7Selection): CompiledMapping | undefined {
    return this.counted(this.snap, this.snap.set.selectHl7(input));
  }

  private counted(snap: Snapshot, m: CompiledMapping | undefined): CompiledMapping | undefined {
    if (!m) return undefined;
    let wrapped = snap.counting.get(m);
    if (!wrapped) {
      const count = (id: string) => this.countUse(id);
      wrapped = {
        ...m,
        map(input, ctx) {
          count(m.id);
          return m.map(input, ctx);
        },
      };
      snap.counting.set(m, wrapped);
    }
    return wrapped;
  }

  /** The mapping as loaded, uncounted: for the admin test route and tools. */
  byId(id: string): CompiledMapping | undefined {
    return this.snap.set.byId(id);
  }

  usage(id: string): MappingUsage {
    const u = this.uses.get(id);
    return u ? { ...u } : { used: 0 };
  }

  countUse(id: string): void {
    const u = this.uses.get(id) ?? { used: 0 };
    u.used += 1;
    u.lastUsedAt = new Date().toISOString();
    this.uses.set(id, u);
  }

  lastError(): LoadFailure | undefined {
    return this.failure;
  }

  reload(): Promise<'reloaded' | 'refused'> {
    const run = this.queue.then(() => this.loadOnce());
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    await this.queue;
  }

  private async loadOnce(): Promise<'reloaded' | 'refused'> {
    if (this.closed) return 'refused';
    let next: Snapshot;
    try {
      next = await loadSnapshot(this.dir);
    } catch (err) {
      // Anything else (a folder that vanished, no permission) is refused the same way.
      const problems =
        err instanceof MappingLoadError
          ? err.problems
          : [{ file: this.dir, reason: (err as Error).message ?? String(err) }];
      this.failure = { at: new Date().toISOString(), problems };
      this.logger.error(
        { problems, serving: describe(this.snap.set) },
        'mapping reload refused; the previous mappings keep serving',
      );
      return 'refused';
    }
    const before = describe(this.snap.set);
    this.snap = next;
    this.failure = undefined;
    this.logger.info({ before, now: describe(next.set) }, 'mappings reloaded');
    return 'reloaded';
  }
}
