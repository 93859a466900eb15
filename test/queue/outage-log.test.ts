import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { outageLog } from '../../src/queue/outage-log.ts';

/** A real pino logger writing its JSON lines into an array. */
function recordingLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('outageLog', () => {
  it('logs an outage once, then every 30 s with the waits in between, then its end', () => {
    const { logger, lines } = recordingLogger();
    let t = 1_000_000;
    const log = outageLog(logger, 30_000, () => t);
    // Eight jobs retrying once a second for 65 s: 520 waits.
    for (let s = 0; s < 65; s++, t += 1_000)
      for (let j = 0; j < 8; j++) log.waiting({ id: `job-${j}`, code: 'HIE-WRITE-UNREACHABLE' });
    log.recovered();
    log.recovered(); // nothing was away any more
    expect(lines.map((l) => [l.level, l.msg, l.waits, l.forMs])).toEqual([
      [40, 'storage unavailable: jobs wait without spending attempts', undefined, undefined],
      [40, 'storage still unavailable: jobs wait', 240, 30_000],
      [40, 'storage still unavailable: jobs wait', 240, 60_000],
      [30, 'storage available again', undefined, 65_000],
    ]);
    expect(lines[0]).toMatchObject({ id: 'job-0', code: 'HIE-WRITE-UNREACHABLE' });

    // The next outage is reported from its start again.
    log.waiting({ id: 'job-9', status: 503 });
    expect(lines.at(-1)).toMatchObject({
      msg: 'storage unavailable: jobs wait without spending attempts',
      status: 503,
    });
  });
});
