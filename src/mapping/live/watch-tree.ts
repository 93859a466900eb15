import { watch, readdirSync, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** How a folder tree is being watched: inotify on every folder, or periodic stat of every file. */
export type WatchMode = 'watch' | 'poll';

export interface TreeWatcher {
  readonly mode: WatchMode;
  close(): void;
}

export interface WatchTreeOptions {
  /** Quiet time after the last event before `onChange` fires (an editor's save is several events). */
  debounceMs: number;
  /** Poll interval when folder watches cannot be set up (or `mode: 'poll'` is asked for). */
  pollMs: number;
  mode?: WatchMode;
  /** A watch that broke (folder removed, inotify limit): reported, then the tree is re-watched or polled. */
  onError?: (err: Error) => void;
}

/** Editor droppings (`.swp`, `~`, dotfiles, vim's numeric write probe `4913`) change nothing the loader reads. */
const IGNORED = /(^\.|~$|\.sw[a-z]$|^\d+$)/;

/**
 * Calls `onChange` (debounced) when anything under `dir` changes.
 *
 * Why not `fs.watch(dir, { recursive: true })`: on Linux, Node 20 emulates it in JavaScript by
 * watching every *file* (lib/internal/fs/recursive_watch.js). An editor that saves by writing a
 * new file and renaming it over the old one (vim, most IDEs) leaves that watch on the dead inode,
 * and later edits go unnoticed. Watching every *folder* non-recursively sees creations, writes
 * and renames of the files inside it, survives atomic saves, and is re-synced after each change
 * so new sub-folders are picked up. Where a folder watch cannot be created (inotify limits,
 * network file systems), the tree is polled by size and mtime instead.
 */
export function watchTree(dir: string, onChange: () => void, opts: WatchTreeOptions): TreeWatcher {
  if (opts.mode !== 'poll') {
    try {
      return new FolderWatcher(dir, onChange, opts);
    } catch (err) {
      opts.onError?.(err as Error);
    }
  }
  return new PollWatcher(dir, onChange, opts);
}

class FolderWatcher implements TreeWatcher {
  readonly mode = 'watch' as const;
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly onChange: () => void,
    private readonly opts: WatchTreeOptions,
  ) {
    // Throws at start (not later) when the root cannot be watched: the caller falls back to polling.
    this.sync(true);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.closed) return;
      try {
        this.sync(false);
      } catch (err) {
        this.opts.onError?.(err as Error);
      }
      this.onChange();
    }, this.opts.debounceMs);
    this.timer.unref();
  }

  /** Watches every folder that exists now and drops watches of folders that are gone. */
  private sync(strict: boolean): void {
    const folders = new Set(listFolders(this.dir));
    for (const [folder, w] of this.watchers)
      if (!folders.has(folder)) {
        w.close();
        this.watchers.delete(folder);
      }
    for (const folder of folders) {
      if (this.watchers.has(folder)) continue;
      let w: FSWatcher;
      try {
        // Not persistent: a watch alone never keeps a CLI or a test process alive.
        w = watch(folder, { persistent: false }, (_event, name) => {
          if (name && IGNORED.test(String(name))) return;
          this.schedule();
        });
      } catch (err) {
        if (strict) {
          this.close();
          throw err;
        }
        this.opts.onError?.(err as Error);
        continue;
      }
      w.on('error', (err) => {
        // A removed folder ends its watch with an error; the next sync decides what still exists.
        w.close();
        this.watchers.delete(folder);
        this.opts.onError?.(err);
        this.schedule();
      });
      this.watchers.set(folder, w);
    }
  }
}

function listFolders(root: string): string[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    let entries;
    try {
      entries = readdirSync(out[i]!, { withFileTypes: true });
    } catch {
      continue; // removed meanwhile
    }
    for (const e of entries)
      if (e.isDirectory() && !e.name.startsWith('.')) out.push(path.join(out[i]!, e.name));
  }
  return out;
}

class PollWatcher implements TreeWatcher {
  readonly mode = 'poll' as const;
  private readonly timer: NodeJS.Timeout;
  private last: string | undefined;
  private busy = false;

  constructor(
    private readonly dir: string,
    private readonly onChange: () => void,
    opts: WatchTreeOptions,
  ) {
    void this.tick(true);
    this.timer = setInterval(() => void this.tick(false), opts.pollMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async tick(first: boolean): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = await fingerprint(this.dir);
      if (!first && this.last !== undefined && now !== this.last) this.onChange();
      this.last = now;
    } finally {
      this.busy = false;
    }
  }
}

/** Every file's path, size and mtime: any save changes at least one of them. */
async function fingerprint(root: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (IGNORED.test(e.name)) continue;
      const p = path.join(folder, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const s = await stat(p).catch(() => undefined);
        if (s) parts.push(`${p}:${s.size}:${s.mtimeMs}`);
      }
    }
  };
  await walk(root);
  return parts.sort().join('\n');
}
