/** A wrong command line: the caller prints the usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command that could not do its job: one line on stderr, exit 1. */
export class CliError extends Error {
  override name = 'CliError';
}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};
