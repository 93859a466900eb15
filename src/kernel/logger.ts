import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/load-config.ts';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout belongs to CLI output such as `--json`).
 * Credentials are redacted by path; personal data must never be passed to a logger
 * unmasked in the first place (see `mask`).
 */
export function createLogger(level: LogLevel, name = 'hie'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', 'password'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that discards everything; for tests and tools that build parts of the app. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Masks an identifier for logs and metric labels: keeps the first 6 and last 4 characters
 * (`332522********123X`), enough for an operator to tell records apart, not to identify a person.
 */
export function mask(value: string): string {
  if (value.length <= 6) return '*'.repeat(value.length);
  if (value.length <= 10) return value.slice(0, 2) + '*'.repeat(value.length - 4) + value.slice(-2);
  return value.slice(0, 6) + '*'.repeat(value.length - 10) + value.slice(-4);
}
