import { ConfigError, loadConfig } from '../config/load-config.ts';
import {
  adminClaims,
  clinicianClaims,
  institutionClaims,
  issueToken,
  personClaims,
  privacyOfficerClaims,
} from '../auth/issue-token.ts';
import { loadOrCreateSigningKey } from '../auth/signing-key.ts';
import { readRuntimeStatus } from '../app/runtime-file.ts';
import {
  defaultClinician,
  loadPractitioners,
  practitionersOf,
  PractitionerDirectoryError,
  type DirectoryPractitioner,
} from '../institutions/practitioners.ts';
import { FHIR_ID, INSTITUTION_ID, parseCommandArgs, parseSeconds, requireMatch } from './args.ts';
import { CliError, UsageError, type CliIo } from './cli-errors.ts';
import { assertKnownInstitution } from './known-institutions.ts';

export const TOKEN_USAGE = `hie token admin
hie token clinician --institution <id> [--practitioner <id>]
hie token privacy-officer --institution <id>
hie token person --patient <id>
hie token institution <id>
  options: --ttl <seconds> (default 3600)  --json (prints {"token","expiresAt","claims"} only)`;

const OPTIONS = {
  institution: { type: 'string' },
  practitioner: { type: 'string' },
  patient: { type: 'string' },
  ttl: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Values = { institution?: string; practitioner?: string; patient?: string };

/** Which options each kind takes: anything else is a mistake worth reporting, not ignoring. */
const KINDS: Record<
  string,
  {
    options: (keyof Values)[];
    positional: number;
    claims: (
      url: string,
      v: Values,
      pos: string[],
    ) => Record<string, unknown> | Promise<Record<string, unknown>>;
  }
> = {
  admin: { options: [], positional: 0, claims: (url) => adminClaims(url) },
  clinician: {
    options: ['institution', 'practitioner'],
    positional: 0,
    claims: async (url, v) => {
      const institution = requireMatch(v.institution, INSTITUTION_ID, '--institution');
      const named =
        v.practitioner === undefined ? undefined : requireMatch(v.practitioner, FHIR_ID, '--practitioner');
      const practitioner = clinicianPractitioner(await readDirectory(), institution, named);
      return clinicianClaims(url, institution, practitioner);
    },
  },
  'privacy-officer': {
    options: ['institution'],
    positional: 0,
    claims: (url, v) =>
      privacyOfficerClaims(url, requireMatch(v.institution, INSTITUTION_ID, '--institution')),
  },
  person: {
    options: ['patient'],
    positional: 0,
    claims: (url, v) => personClaims(url, requireMatch(v.patient, FHIR_ID, '--patient')),
  },
  institution: {
    options: [],
    positional: 1,
    claims: (url, _v, pos) =>
      institutionClaims(url, requireMatch(pos[0], INSTITUTION_ID, 'the institution id')),
  },
};

const MAX_TTL = 365 * 24 * 3600;

/** `hie token <kind> …`: a token from the local demo issuer, signed with the data folder's key. */
export async function tokenCommand(
  args: string[],
  io: CliIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const [kind, ...rest] = positionals;
  const spec = kind === undefined ? undefined : KINDS[kind];
  if (!spec)
    throw new UsageError(
      kind === undefined
        ? 'which token? (admin, clinician, privacy-officer, person, institution)'
        : `unknown token kind "${kind}"`,
    );
  for (const name of ['institution', 'practitioner', 'patient'] as const) {
    if (values[name] !== undefined && !spec.options.includes(name))
      throw new UsageError(`hie token ${kind} takes no --${name}`);
  }
  if (rest.length !== spec.positional)
    throw new UsageError(
      `hie token ${kind} takes ${spec.positional || 'no'} argument${spec.positional === 1 ? '' : 's'}`,
    );
  const ttl = parseSeconds(values.ttl, 3600, MAX_TTL, '--ttl');

  const { publicUrl, demoIssuer, dataDir, databaseUrl } = await issuerSettings(env, io);
  if (!demoIssuer) {
    throw new CliError(
      'the demo issuer is off, so `hie token` cannot sign tokens: set HIE_DEMO_ISSUER=on (its default, auto, is on only with the embedded database) and restart, or get tokens from your identity provider',
    );
  }
  const institution = kind === 'institution' ? rest[0] : values.institution;
  if (institution !== undefined && INSTITUTION_ID.test(institution))
    await assertKnownInstitution(institution, databaseUrl);
  const claims = await spec.claims(publicUrl, values, rest);
  const key = await loadOrCreateSigningKey(dataDir);
  const token = await issueToken(key, claims, ttl);
  const payload = decodePayload(token);
  const expiresAt = new Date(Number(payload.exp) * 1000).toISOString();
  if (values.json) {
    io.out(JSON.stringify({ token, expiresAt, claims: payload }) + '\n');
  } else {
    io.err(`${kind} token for ${publicUrl}, valid until ${expiresAt}:\n`);
    io.out(token + '\n');
  }
  return 0;
}

/**
 * The running system's settings win (runtime.json), since its verifier checks `iss`/`aud`
 * against its own public URL; without a running system, the environment decides.
 */
async function issuerSettings(
  env: Record<string, string | undefined>,
  io: CliIo,
): Promise<{ publicUrl: string; demoIssuer: boolean; dataDir: string; databaseUrl: string | undefined }> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`configuration error: ${err.message}`);
    throw err;
  }
  const status = await readRuntimeStatus(config.dataDir);
  if (status?.running)
    return {
      publicUrl: status.info.publicUrl,
      demoIssuer: status.info.demoIssuer,
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl ?? status.info.databaseUrl,
    };
  if (status)
    io.err(
      `note: ${config.dataDir}/runtime.json is left from a system that no longer runs (pid ${status.info.pid}); using the environment\n`,
    );
  return {
    publicUrl: config.publicUrl,
    demoIssuer: config.demoIssuer,
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
  };
}

/**
 * The practitioner a clinician token stands for. An institution with directory practitioners
 * gets one of them (`--practitioner` must name one; without it, `defaultClinician`), so the
 * token's `fhirUser` is a Practitioner the exchange holds. An institution with none (registered
 * by operators, not in the shipped directory) keeps a synthetic id, or the one it names.
 */
export function clinicianPractitioner(
  directory: readonly DirectoryPractitioner[],
  institution: string,
  named: string | undefined,
): string {
  const here = practitionersOf(directory, institution);
  if (named !== undefined) {
    if (here.some((p) => p.id === named)) return named;
    const elsewhere = directory.find((p) => p.id === named);
    if (elsewhere)
      throw new CliError(`practitioner "${named}" works at ${elsewhere.institution}, not at ${institution}`);
    if (here.length > 0)
      throw new CliError(
        `no practitioner "${named}" at ${institution} in the practitioner directory; its practitioners: ${here.map((p) => p.id).join(', ')}`,
      );
    return named;
  }
  return defaultClinician(directory, institution)?.id ?? `demo-${institution}-doctor`;
}

async function readDirectory(): Promise<DirectoryPractitioner[]> {
  try {
    return await loadPractitioners();
  } catch (err) {
    // The file ships with the code: a broken one is reported, not worked around.
    if (err instanceof PractitionerDirectoryError)
      throw new CliError(`the practitioner directory is invalid: ${err.problems.join('; ')}`);
    throw err;
  }
}

function decodePayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}
