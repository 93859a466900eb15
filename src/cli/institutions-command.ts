import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfig, type Config } from '../config/load-config.ts';
import { readRuntimeStatus } from '../app/runtime-file.ts';
import { Database } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { projectOrganizations } from '../institutions/organizations.ts';
import { PostgresInstitutionRegistry } from '../institutions/postgres-registry.ts';
import { seedInstitutions } from '../institutions/seed.ts';
import type { Institution } from '../institutions/types.ts';
import { InstitutionValidationError, publicEntry } from '../institutions/validate-entry.ts';
import { loadFhirModel } from '../repository/fhir-model.ts';
import { FhirRepository } from '../repository/store/fhir-repository.ts';
import { INSTITUTION_ID, parseCommandArgs, requireMatch } from './args.ts';
import { CliError, UsageError, type CliIo } from './cli-errors.ts';

export const INSTITUTIONS_USAGE = `hie institutions [--json] [--all]
  lists the registry (--json: the CONTRACTS array of active institutions; --all adds disabled ones with "active": false)
hie institutions add <file.json> [--replace]
  registers one entry or an array (optionally with jwksUrl, publicKeys, mllpAllowFrom); --replace updates existing ids
hie institutions disable <id>  |  hie institutions enable <id>
hie institutions rotate-key <id>
  makes a new ES384 key pair: private key in $HIE_DATA_DIR/keys/institutions/<id>.pem, public key registered
  (the database is DATABASE_URL, else the running system's from runtime.json)`;

const OPTIONS = {
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  replace: { type: 'boolean' },
} as const;

/** `hie institutions …`: the registry, read and changed directly in the database. */
export async function institutionsCommand(
  args: string[],
  io: CliIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const [action = 'list', ...rest] = positionals;
  const arity: Record<string, number> = { list: 0, add: 1, disable: 1, enable: 1, 'rotate-key': 1 };
  if (arity[action] === undefined) throw new UsageError(`unknown action "${action}"`);
  if (rest.length !== arity[action])
    throw new UsageError(`hie institutions ${action} takes ${arity[action] || 'no'} argument(s)`);
  if (values.all && action !== 'list') throw new UsageError('--all goes with the listing only');
  if (values.replace && action !== 'add') throw new UsageError('--replace goes with add only');

  const settings = await cliSettings(env, io);
  const db = await openDatabase(settings);
  try {
    const registry = new PostgresInstitutionRegistry(db, { ttlMs: 0 });
    const arg = rest[0] as string;
    switch (action) {
      case 'list':
        return list(await registry.list(), values, io);
      case 'add': {
        const added = await registry.add(await readJson(arg), { replace: values.replace ?? false });
        await project(registry, db, settings);
        return report(
          values.json,
          io,
          added.map(publicEntry),
          `registered: ${added.map((i) => i.id).join(', ')}`,
        );
      }
      case 'disable':
      case 'enable': {
        const id = requireMatch(arg, INSTITUTION_ID, 'the institution id');
        const inst = await registry.setActive(id, action === 'enable');
        await project(registry, db, settings);
        return report(
          values.json,
          io,
          { id, active: inst.active },
          `${id} is ${inst.active ? 'active' : 'disabled'}`,
        );
      }
      default: {
        const id = requireMatch(arg, INSTITUTION_ID, 'the institution id');
        const key = await registry.rotateKey(settings.dataDir, id);
        return report(
          values.json,
          io,
          { id, kid: key.kid, alg: key.alg, keyFile: key.file, publicJwk: key.publicJwk },
          `${id}: new ${key.alg} key ${key.kid}, private key in ${key.file}`,
        );
      }
    }
  } catch (err) {
    if (err instanceof InstitutionValidationError) throw new CliError(err.problems.join('\n  '));
    throw err;
  } finally {
    await db.close();
  }
}

function list(all: Institution[], values: { json?: boolean; all?: boolean }, io: CliIo): number {
  const shown = values.all ? all : all.filter((i) => i.active);
  if (values.json) {
    const out = shown.map((i) => (values.all ? { ...publicEntry(i), active: i.active } : publicEntry(i)));
    io.out(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  const rows = all.map((i) => [
    i.id,
    i.tier,
    `${i.name.zh} / ${i.name.en}`,
    i.partOf ?? '',
    i.facilityCodes.join(','),
    i.formats.join(','),
    `${i.timezone} ${i.charset}`,
    i.active ? 'active' : 'disabled',
    i.jwksUrl !== undefined ? 'jwks-url' : `${i.publicKeys.length} key(s)`,
  ]);
  io.out(
    table(
      ['ID', 'TIER', 'NAME', 'PART OF', 'FACILITY CODES', 'FORMATS', 'TZ CHARSET', 'STATUS', 'KEYS'],
      rows,
    ),
  );
  return 0;
}

/** Plain columns, padded by display width (a CJK character takes two cells in a terminal). */
function table(head: string[], rows: string[][]): string {
  const width = (s: string) => [...s].reduce((n, ch) => n + (/[\u1100-\uffdc]/.test(ch) ? 2 : 1), 0);
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((r) => width(r[c] ?? ''))));
  return (
    all
      .map((r) =>
        r
          .map((cell, c) => cell + ' '.repeat((widths[c] ?? 0) - width(cell)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function report(json: boolean | undefined, io: CliIo, data: unknown, text: string): number {
  if (json) io.out(JSON.stringify(data, null, 2) + '\n');
  else io.out(text + '\n');
  return 0;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message}`);
  }
}

/** Keeps `Organization/{id}` in step with the change, as a start-up would. */
async function project(registry: PostgresInstitutionRegistry, db: Database, s: CliSettings): Promise<void> {
  const repo = new FhirRepository(db, loadFhirModel(), `${s.publicUrl}/fhir`);
  await projectOrganizations(registry, repo, s.config.canonicalBase);
}

/**
 * The registry's database, migrated and seeded as a start-up would leave it, so the command
 * works before the first `npm start` against an external database too. Seeding never
 * overwrites a row, so running it here changes nothing an operator did.
 */
async function openDatabase(s: CliSettings): Promise<Database> {
  if (s.databaseUrl === undefined)
    throw new CliError(
      'no database: set DATABASE_URL, or start the system (npm start) so that runtime.json names its database',
    );
  const db = new Database(s.databaseUrl, { max: 2, applicationName: 'county-hie-cli' });
  try {
    await migrate(db);
    await seedInstitutions(db);
  } catch (err) {
    await db.close();
    if (err instanceof InstitutionValidationError) throw err;
    throw new CliError(`database ${redact(s.databaseUrl)}: ${(err as Error).message}`);
  }
  return db;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** What the registry and upload commands need to reach the running system and its database. */
export interface CliSettings {
  config: Config;
  dataDir: string;
  publicUrl: string;
  /** undefined when neither DATABASE_URL nor a running system names one. */
  databaseUrl: string | undefined;
}

/**
 * The environment's configuration, completed by `runtime.json` of a running system: its public
 * URL (its token endpoint checks `aud` against it) and, unless DATABASE_URL says otherwise, its
 * database (the embedded one has a generated password that only runtime.json records).
 */
export async function cliSettings(env: Record<string, string | undefined>, io: CliIo): Promise<CliSettings> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`configuration error: ${err.message}`);
    throw err;
  }
  const status = await readRuntimeStatus(config.dataDir);
  if (status && !status.running)
    io.err(
      `note: ${config.dataDir}/runtime.json is left from a system that no longer runs (pid ${status.info.pid}); using the environment\n`,
    );
  const running = status?.running ? status.info : undefined;
  return {
    config,
    dataDir: config.dataDir,
    publicUrl: running?.publicUrl ?? config.publicUrl,
    databaseUrl: config.databaseUrl ?? running?.databaseUrl,
  };
}
