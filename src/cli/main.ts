import { CliError, UsageError, processIo, type CliIo } from './cli-errors.ts';
import { TOKEN_USAGE, tokenCommand } from './token-command.ts';
import { INSTITUTIONS_USAGE, institutionsCommand } from './institutions-command.ts';
import { UPLOAD_USAGE, uploadCommand } from './upload-command.ts';
import { MAPPING_USAGE, mappingCommand } from './mapping-command.ts';
import { PROFILE_USAGE, profileCommand } from './profile-command.ts';
import { DEMO_USAGE, demoCommand } from './demo-command.ts';
import { AUDIT_USAGE, auditCommand } from './audit-command.ts';

/** One entry per verb; later issues add theirs here (institutions, mapping, demo, audit…). */
const VERBS: Record<string, { usage: string; run: (args: string[], io: CliIo) => Promise<number> }> = {
  token: { usage: TOKEN_USAGE, run: tokenCommand },
  institutions: { usage: INSTITUTIONS_USAGE, run: (args, io) => institutionsCommand(args, io, process.env) },
  upload: { usage: UPLOAD_USAGE, run: (args, io) => uploadCommand(args, io, process.env) },
  mapping: { usage: MAPPING_USAGE, run: mappingCommand },
  profile: { usage: PROFILE_USAGE, run: profileCommand },
  demo: { usage: DEMO_USAGE, run: (args, io) => demoCommand(args, io, process.env) },
  audit: { usage: AUDIT_USAGE, run: (args, io) => auditCommand(args, io, process.env) },
};

function usage(): string {
  return `usage: hie <command> [options]\n\n${Object.values(VERBS)
    .map((v) => v.usage)
    .join(
      '\n\n',
    )}\n\nLogs go to stderr; with --json, stdout holds only JSON. Settings come from the environment (HIE_DATA_DIR…).\n`;
}

/** Runs one `hie` command line and returns the exit code: 0 done, 1 failed, 2 wrong usage. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [verb, ...args] = argv;
  if (verb === '--help' || verb === '-h' || verb === 'help') {
    io.out(usage());
    return 0;
  }
  const command = verb === undefined ? undefined : VERBS[verb];
  if (!command) {
    io.err((verb === undefined ? '' : `hie: unknown command "${verb}"\n\n`) + usage());
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(`usage:\n${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`hie ${verb}: ${err.message}\n\nusage:\n${command.usage}\n`);
      return 2;
    }
    // Expected failures are one line; anything else too, so a user never faces a stack trace.
    io.err(
      `hie ${verb}: ${err instanceof CliError ? err.message : ((err as Error).message ?? String(err))}\n`,
    );
    return 1;
  }
}
