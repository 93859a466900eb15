/**
 * docker/: the image and the reference compose deployment, checked against the code they run.
 * There is no Docker daemon where the suite runs, so nothing here builds or starts a container;
 * what is checked is what would break a deployment silently: settings the code refuses or that
 * disagree between gateway and worker, a server configured to lose jobs, a data volume in the
 * wrong place, a runtime import the image does not install, a folder the code reads but the image
 * does not copy.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../src/config/env-vars.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { DEFAULT_DRAIN_MS, DEFAULT_STEP_TIMEOUT_MS } from '../../src/app/shutdown.ts';
import { REPO_ROOT } from '../app/spawn-helpers.ts';
import { type ComposeService, dockerfileInstructions, envExample, loadCompose } from './compose-file.ts';

const SECRETS = { POSTGRES_PASSWORD: 'pg-secret-0123', REDIS_PASSWORD: 'redis-secret-4567' };
const compose = loadCompose({ ...envExample(), ...SECRETS });
const { postgres, redis, gateway, worker } = compose.services as Record<string, ComposeService>;
const dockerfile = dockerfileInstructions();
const dockerEnv = Object.fromEntries(
  dockerfile.filter(([k]) => k === 'ENV').map(([, rest]) => rest.split('=', 2) as [string, string]),
);
/** A County HIE service's environment as its process sees it: the image's ENV, then compose's. */
const processEnv = (s: ComposeService) => ({ ...dockerEnv, ...s.environment });

describe('docker/compose.yaml', () => {
  it('does not start with the example settings until both passwords are set', () => {
    expect(() => loadCompose(envExample())).toThrow(/POSTGRES_PASSWORD|REDIS_PASSWORD/);
    expect(() => loadCompose({ ...envExample(), POSTGRES_PASSWORD: 'x' })).toThrow(/REDIS_PASSWORD/);
  });

  it('gives gateway and worker only documented variables, with values the configuration accepts', () => {
    const documented = new Set(ENV_VARS.map((v) => v.name));
    for (const service of [gateway!, worker!]) {
      for (const name of Object.keys(processEnv(service))) {
        if (name === 'NODE_ENV') continue; // Node's own, not ours
        expect(documented, `${name} is not in src/config/env-vars.ts`).toContain(name);
      }
      expect(() => loadConfig(processEnv(service), '/app')).not.toThrow();
    }
  });

  it('makes the worker agree with the gateway on the token audience and write to the gateway', () => {
    const g = loadConfig(processEnv(gateway!), '/app');
    const w = loadConfig(processEnv(worker!), '/app');
    // The worker's tokens carry its public URL as audience; the gateway checks against its own.
    expect(w.publicUrl).toBe(g.publicUrl);
    expect(w.canonicalBase).toBe(g.canonicalBase);
    const target = new URL(w.fhirBaseUrl);
    expect(compose.services[target.hostname], `${target.hostname} is not a compose service`).toBe(gateway);
    expect(Number(target.port || 80)).toBe(g.port);
    expect(target.pathname).toBe('/fhir');
    // The gateway's own worker goes to this process directly, not out through a public proxy.
    const own = new URL(g.fhirBaseUrl);
    expect(['127.0.0.1', 'localhost']).toContain(own.hostname);
    expect(Number(own.port)).toBe(g.port);
    // A production deployment mints no tokens unless asked.
    expect(g.demoIssuer).toBe(false);
    expect(w.demoIssuer).toBe(false);
  });

  it('points both at the compose PostgreSQL with the credentials and database it creates', () => {
    for (const service of [gateway!, worker!]) {
      const url = new URL(loadConfig(processEnv(service), '/app').databaseUrl!);
      expect(compose.services[url.hostname]).toBe(postgres);
      expect(postgres!.image).toMatch(/^postgres:/);
      expect(url.port || '5432').toBe('5432');
      expect(decodeURIComponent(url.username)).toBe(postgres!.environment!.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(SECRETS.POSTGRES_PASSWORD);
      expect(postgres!.environment!.POSTGRES_PASSWORD).toBe(SECRETS.POSTGRES_PASSWORD);
      expect(url.pathname.slice(1)).toBe(postgres!.environment!.POSTGRES_DB);
    }
  });

  it('keeps PostgreSQL data where its image version stores it', () => {
    const major = Number(/^postgres:(\d+)/.exec(postgres!.image!)?.[1]);
    expect(major, 'pin a PostgreSQL major version the README supports').toBeGreaterThanOrEqual(15);
    expect(major).toBeLessThanOrEqual(18);
    // 18+ images refuse to start with a volume on the pre-18 path (their data moved one level up).
    const target = major >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data';
    expect(postgres!.volumes!.map((v) => v.split(':')[1])).toContain(target);
  });

  it('runs Redis as BullMQ needs it: append-only file, no eviction, the password the URLs use', () => {
    const args = redis!.command!;
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    expect(flag('--requirepass')).toBe(SECRETS.REDIS_PASSWORD);
    for (const service of [gateway!, worker!]) {
      const url = new URL(loadConfig(processEnv(service), '/app').redisUrl!);
      expect(compose.services[url.hostname]).toBe(redis);
      expect(decodeURIComponent(url.password)).toBe(SECRETS.REDIS_PASSWORD);
    }
    expect(redis!.volumes!.map((v) => v.split(':')[1])).toContain('/data');
  });

  it('gives gateway and worker one data folder: the signing key the worker signs with', () => {
    const dataDir = dockerEnv.HIE_DATA_DIR!;
    expect(dataDir).toMatch(/^\//);
    const mount = (s: ComposeService) => s.volumes!.find((v) => v.split(':')[1] === dataDir)?.split(':')[0];
    expect(mount(gateway!)).toBeDefined();
    expect(mount(worker!)).toBe(mount(gateway!));
    expect(Object.keys(compose.volumes ?? {})).toContain(mount(gateway!));
  });

  it('publishes the HTTP and MLLP ports the image listens on', () => {
    const g = loadConfig(processEnv(gateway!), '/app');
    const published = gateway!.ports!.map((p) => p.split(':').at(-1));
    expect(published).toEqual(expect.arrayContaining([String(g.port), String(g.mllpPort)]));
    const exposed = dockerfile.filter(([k]) => k === 'EXPOSE').flatMap(([, rest]) => rest.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining([String(g.port), String(g.mllpPort)]));
  });

  it('runs the worker from the gateway image, without the HTTP health check it cannot pass', () => {
    expect(gateway!.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
    expect(worker!.image).toBe(gateway!.image);
    const script = worker!.command!.find((a) => a.endsWith('.mjs'))!;
    expect(existsSync(path.join(REPO_ROOT, script))).toBe(true);
    expect(script).toBe('bin/worker.mjs');
    expect(worker!.healthcheck?.disable).toBe(true);
    expect(worker!.depends_on?.gateway?.condition).toBe('service_healthy');
    expect(gateway!.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(gateway!.depends_on?.redis?.condition).toBe('service_healthy');
  });

  it('lets a stopping process finish its shutdown before docker kills it', () => {
    const seconds = (s: string | undefined) => Number(/^(\d+)s$/.exec(s ?? '')?.[1] ?? 10);
    // The drain, then the worker's close before it and one more bounded step after it.
    const needed = (DEFAULT_DRAIN_MS + 2 * DEFAULT_STEP_TIMEOUT_MS) / 1000;
    expect(seconds(gateway!.stop_grace_period)).toBeGreaterThanOrEqual(needed);
    expect(seconds(worker!.stop_grace_period)).toBeGreaterThanOrEqual(needed);
  });
});

describe('docker/Dockerfile', () => {
  const copied = dockerfile
    .filter(([k]) => k === 'COPY')
    .flatMap(([, rest]) =>
      rest
        .split(/\s+/)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1),
    );

  it('copies only what exists, and every folder the code reads at run time', () => {
    for (const source of copied) expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);
    // Folders the code reaches from its own location (import.meta.url), plus the package files.
    const reached = new Set<string>(['bin', 'src', 'package.json', 'package-lock.json']);
    for (const file of sourceFiles(path.join(REPO_ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:'|\/)((?:\.\.\/)+)([a-z][\w-]*)(?:\/|')/g)) {
        const target = path.resolve(path.dirname(file), m[1]!, m[2]!);
        const top = path.relative(REPO_ROOT, target).split(path.sep)[0]!;
        if (!top.startsWith('..') && top !== 'src' && existsSync(path.join(REPO_ROOT, top))) reached.add(top);
      }
    }
    expect([...reached].sort()).toEqual(expect.arrayContaining(['mappings', 'profiles', 'registry']));
    for (const top of reached) expect(copied, `${top} is read at run time but not copied`).toContain(top);
  });

  it('installs every package the code imports at run time (dev dependencies are left out)', () => {
    const install = dockerfile.find(([k, rest]) => k === 'RUN' && /npm ci/.test(rest))?.[1] ?? '';
    expect(install).toMatch(/--omit=dev/);
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const files = [...sourceFiles(path.join(REPO_ROOT, 'src')), ...sourceFiles(path.join(REPO_ROOT, 'bin'))];
    const imported = new Set<string>();
    for (const file of files)
      for (const name of runtimeImports(readFileSync(file, 'utf8'))) imported.add(name);
    expect(imported).toContain('tsx');
    for (const name of imported)
      expect(Object.keys(pkg.dependencies), `${name} is imported at run time`).toContain(name);
  });

  it('runs the system unprivileged, with the start script as its command', () => {
    const user = dockerfile.filter(([k]) => k === 'USER').at(-1)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)$/);
    const cmd = JSON.parse(dockerfile.filter(([k]) => k === 'CMD').at(-1)![1]) as string[];
    expect(cmd).toEqual(['node', 'bin/start.mjs']);
    expect(existsSync(path.join(REPO_ROOT, cmd[1]!))).toBe(true);
  });

  it('keeps local data, dependencies and the compose secrets out of the build context', () => {
    const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.data', '.git', 'docker/.env']));
  });
});

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) yield* sourceFiles(full);
    else if (/\.(ts|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) yield full;
  }
}

/** Bare package names a file loads at run time: value imports and re-exports, `import()`. */
function runtimeImports(text: string): string[] {
  const names: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*'([^']+)'/g;
  for (const m of text.matchAll(statement)) {
    if (m[2]) continue; // `import type` / `export type`: erased
    const clause = m[3]!;
    const braces = /^\{([^}]*)\}$/.exec(clause.trim());
    // `import { type A, type B } from` is erased too.
    if (braces && braces[1]!.split(',').every((s) => !s.trim() || /^type\s/.test(s.trim()))) continue;
    names.push(m[4]!);
  }
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) names.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) names.push(m[1]!);
  for (const m of text.matchAll(/\brequire(?:\.resolve)?\(\s*'([^']+)'\s*\)/g)) names.push(m[1]!);
  return names
    .filter((n) => !n.startsWith('.') && !n.startsWith('node:'))
    .map((n) => (n.startsWith('@') ? n.split('/').slice(0, 2).join('/') : n.split('/')[0]!));
}
