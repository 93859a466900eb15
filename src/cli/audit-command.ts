import { Database } from '../db/database.ts';
import { chainHeadPath } from '../audit/chain-head.ts';
import { verifyAuditChain } from '../audit/verify-chain.ts';
import { parseCommandArgs } from './args.ts';
import { CliError, UsageError, type CliIo } from './cli-errors.ts';
import { cliSettings } from './institutions-command.ts';

export const AUDIT_USAGE = `hie audit verify [--json]
  checks the audit trail's hash chain and the head in $HIE_DATA_DIR/audit/chain-head.json;
  exits 1 naming the first bad event when one was edited, deleted or the tail cut off
  (the database is DATABASE_URL, else the running system's from runtime.json)`;

const OPTIONS = { json: { type: 'boolean' } } as const;

/** `hie audit verify`: reads the chain straight from the database; changes nothing. */
export async function auditCommand(
  args: string[],
  io: CliIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (positionals[0] !== 'verify' || positionals.length !== 1)
    throw new UsageError(
      positionals[0] === undefined ? 'an action is required' : `unknown action "${positionals.join(' ')}"`,
    );
  const settings = await cliSettings(env, io);
  if (settings.databaseUrl === undefined)
    throw new CliError(
      'no database: set DATABASE_URL, or start the system (npm start) so that runtime.json names its database',
    );
  const headFile = chainHeadPath(settings.dataDir);
  const db = new Database(settings.databaseUrl, { max: 1, applicationName: 'county-hie-cli' });
  try {
    const result = await verifyAuditChain(db, headFile).catch((err: Error & { code?: string }) => {
      // 42P01: no audit_chain table — a database the system never started on.
      if (err.code === '42P01')
        throw new CliError('this database has no audit trail yet (start the system once)');
      throw new CliError(`cannot verify the audit trail: ${err.message}`);
    });
    if (values.json) {
      io.out(JSON.stringify({ ...result, headFile }, null, 2) + '\n');
    } else if (result.ok) {
      io.out(
        `audit trail intact: ${result.events} event(s), last ${result.lastSequence}` +
          (result.head
            ? `; head file at ${result.head.sequence} matches\n`
            : `; no head file yet (${headFile})\n`),
      );
    } else {
      io.out(
        `audit trail BROKEN at event ${result.problem!.sequence} (${result.problem!.kind}): ${result.problem!.message}\n`,
      );
    }
    return result.ok ? 0 : 1;
  } finally {
    await db.close();
  }
}
