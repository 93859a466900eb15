/**
 * Reads a V8 `.cpuprofile` and says where the self time went: by area (our `src/<dir>/<dir>`,
 * each library under node_modules, Node internals, GC) and by function.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Percent of the busy (non-idle) time. */
  pct: number;
}

export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  areas: Share[];
  /** As `areas`, but native frames (socket writes, builtins) charged to the nearest JS caller's area. */
  callerAreas: Share[];
  functions: Share[];
}

/** `src/repository/index`, `lib @medplum/core`, `node internals`, `(garbage collector)` … */
export function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native / unknown)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return `lib ${nm[1]}`;
  const ours = /\/((?:src|bench)\/[^/]+(?:\/[^/.]+(?=\/))?)/.exec(url);
  if (ours) return ours[1]!;
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.search(/\/(src|bench)\//);
  return src >= 0 ? url.slice(src + 1) : url;
}

export async function summarizeProfile(file: string, top = 20): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the gap before sample i; attribute it to the sample that ends it.
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** Native and `node:` frames go to the nearest caller in our code or a library (GC stays GC). */
  const callerArea = (id: number): string => {
    const own = byId.get(id)!.callFrame;
    if ((own.url && !own.url.startsWith('node:')) || own.functionName.startsWith('('))
      return areaOf(own.url, own.functionName);
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const cf = byId.get(up)!.callFrame;
      if (cf.url && !cf.url.startsWith('node:')) return `${areaOf(cf.url, cf.functionName)} (+native)`;
    }
    return '(native / unknown)';
  };
  const callerAreas = new Map<string, number>();
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    total += us;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const area = areaOf(cf.url, cf.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const ca = callerArea(id);
    callerAreas.set(ca, (callerAreas.get(ca) ?? 0) + us);
    const key =
      `${cf.functionName || '(anonymous)'} ${cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>, n: number): Share[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 1000),
        pct: busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0,
      }));
  return {
    wallMs: Math.round((p.endTime - p.startTime) / 1000),
    busyMs: Math.round(busy / 1000),
    areas: rank(areas, 1000),
    callerAreas: rank(callerAreas, 1000),
    functions: rank(fns, top),
  };
}

/** Percent of busy time in the areas whose name matches (e.g. the queue's libraries). */
export function shareOf(summary: ProfileSummary, match: RegExp): number {
  const hit = (name: string) => match.test(name.replace(/ \(\+native\)$/, ''));
  return Math.round(summary.callerAreas.filter((a) => hit(a.name)).reduce((s, a) => s + a.pct, 0) * 10) / 10;
}
