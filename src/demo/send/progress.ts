import type { SendProgress } from './sender.ts';

/**
 * Progress on stderr: a bar redrawn in place on a terminal, otherwise one line every few
 * seconds (a log file or CI must not fill with carriage returns).
 */
export function progressPrinter(
  stream: { write: (s: string) => unknown; isTTY?: boolean } = process.stderr,
  everyMs = 2_000,
): { update: (p: SendProgress) => void; done: () => void } {
  let lastLine = 0;
  let drawn = false;
  return {
    update(p) {
      if (stream.isTTY) {
        stream.write(`\r${bar(p)}`);
        drawn = true;
        return;
      }
      if (p.elapsedMs - lastLine >= everyMs || p.sent === p.total) {
        lastLine = p.elapsedMs;
        stream.write(`${line(p)}\n`);
      }
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}

function bar(p: SendProgress): string {
  const width = 30;
  const filled = p.total > 0 ? Math.round((p.sent / p.total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line(p)}`;
}

function line(p: SendProgress): string {
  const pct = p.total > 0 ? Math.floor((p.sent / p.total) * 100) : 100;
  return `${p.sent}/${p.total} (${pct}%) sent, ${p.refused} refused, ${p.rate.toFixed(1)} msg/s${p.phase ? ` — ${p.phase}` : ''}`;
}
