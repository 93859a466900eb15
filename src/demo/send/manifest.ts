import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DemoFile, DemoManifest } from '../types.ts';

/** A generated directory that cannot be sent as it is: the message names the problem. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

const CHANNEL = /^(hl7v2-mllp|hl7v2-http|fhir|csv:[a-z0-9][a-z0-9-]*|json:[a-z0-9][a-z0-9-]*)$/;
const EXPECT = new Set(['AE', 'AR', '422']);

/**
 * Reads `manifest.json` of a generated directory and checks what the sender relies on, so a
 * hand-edited or truncated manifest fails before the first message rather than half-way.
 */
export async function readManifest(dir: string): Promise<DemoManifest> {
  const file = path.join(dir, 'manifest.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ManifestError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const m = parsed as Partial<DemoManifest> | null;
  if (m?.format !== 'county-hie-demo/1')
    throw new ManifestError(`${file}: format must be "county-hie-demo/1", got ${JSON.stringify(m?.format)}`);
  if (!Array.isArray(m.phases)) throw new ManifestError(`${file}: "phases" must be an array`);
  const paths = new Set<string>();
  for (const [p, phase] of m.phases.entries()) {
    if (!Array.isArray(phase?.files)) throw new ManifestError(`${file}: phases[${p}].files must be an array`);
    for (const f of phase.files as Partial<DemoFile>[]) {
      const where = `${file}: phases[${p}] file ${JSON.stringify(f?.path)}`;
      if (typeof f.path !== 'string' || f.path.split('/').includes('..') || path.isAbsolute(f.path))
        throw new ManifestError(`${where}: path must be relative, inside the directory`);
      if (typeof f.institution !== 'string' || !/^[a-z0-9-]{2,40}$/.test(f.institution))
        throw new ManifestError(`${where}: institution must be a registry id`);
      if (typeof f.channel !== 'string' || !CHANNEL.test(f.channel))
        throw new ManifestError(`${where}: unknown channel ${JSON.stringify(f.channel)}`);
      if (!Number.isInteger(f.messages) || (f.messages as number) < 0)
        throw new ManifestError(`${where}: messages must be a whole number`);
      if (typeof f.charset !== 'string') throw new ManifestError(`${where}: charset is required`);
      if (paths.has(f.path)) throw new ManifestError(`${where}: listed twice`);
      paths.add(f.path);
    }
  }
  if (!Array.isArray(m.expectedFailures))
    throw new ManifestError(`${file}: "expectedFailures" must be an array`);
  for (const e of m.expectedFailures) {
    if (!paths.has(e?.path) || !Number.isInteger(e.index) || !EXPECT.has(e.expect))
      throw new ManifestError(`${file}: expected failure ${JSON.stringify(e)} names no listed message`);
  }
  return m as DemoManifest;
}

/** Every file of the manifest, in sending order. */
export function manifestFiles(manifest: DemoManifest): DemoFile[] {
  return manifest.phases.flatMap((p) => p.files);
}
