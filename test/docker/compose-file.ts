import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../app/spawn-helpers.ts';

/** The parts of a compose service these tests read. */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { disable?: boolean; test?: string[] };
  stop_grace_period?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export const DOCKER_DIR = path.join(REPO_ROOT, 'docker');

/**
 * docker/compose.yaml as compose sees it after interpolation with `vars` (as from docker/.env).
 * Like compose, it parses the YAML first (merge keys `<<: *anchor` included) and then replaces
 * `${X}`, `${X:-default}`, `${X:?message}` (unset or empty → the error compose reports) and `$$`
 * inside string values, so a substituted value never turns into YAML of its own.
 */
export function loadCompose(vars: Record<string, string>): ComposeFile {
  const text = readFileSync(path.join(DOCKER_DIR, 'compose.yaml'), 'utf8');
  return substitute(parse(text, { merge: true }), vars) as ComposeFile;
}

function substitute(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)]));
  return value;
}

function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}/g,
    (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (whole === '$$') return '$';
      const value = vars[name!];
      if (value !== undefined && value !== '') return value;
      if (op === ':-') return arg ?? '';
      if (op === ':?') throw new Error(`compose: required variable ${name} is missing a value: ${arg}`);
      return '';
    },
  );
}

/** docker/.env.example as `KEY=value` pairs (comments and blank lines skipped). */
export function envExample(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path.join(DOCKER_DIR, '.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

/** The Dockerfile's instructions, continuation lines joined: `[keyword, rest]`. */
export function dockerfileInstructions(): [string, string][] {
  const text = readFileSync(path.join(DOCKER_DIR, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l)!;
      return [m[1]!.toUpperCase(), m[2]!];
    });
}
