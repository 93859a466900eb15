import type { Patient } from 'fhir/r4';

/** One caller's PUTs: written together or not at all. */
export type PatientPuts = readonly { patient: Patient; ifMatch?: string }[];

interface Waiting {
  puts: PatientPuts;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The most PUTs one combined transaction carries. */
const MAX_PUTS = 64;

/**
 * Identity's writes (a golden record and its source's `refer` link) from jobs running side by
 * side, sent as one FHIR transaction instead of one each. A transaction costs the repository a
 * request, a database transaction and its look-ups whatever it holds, and a new resident costs one
 * such write per message.
 *
 * One transaction is in flight at a time: the first caller's goes at once, and whoever asks while
 * it is out waits for it and then goes in the next, together with the others that came meanwhile
 * (nothing waits on a timer). Two callers writing the same Patient never share a transaction. A
 * combined transaction is all or nothing, so when it fails each caller's PUTs are sent again on
 * their own: every caller gets the answer to its own writes (a 412 goes to the one that was stale).
 */
export function combineTransactions(
  send: (puts: PatientPuts) => Promise<void>,
  maxPuts = MAX_PUTS,
): (puts: PatientPuts) => Promise<void> {
  const waiting: Waiting[] = [];
  let sending = false;

  const alone = async (w: Waiting) => {
    try {
      await send(w.puts);
      w.resolve();
    } catch (err) {
      w.reject(err);
    }
  };

  const sendTogether = async (taken: Waiting[]) => {
    if (taken.length === 1) return alone(taken[0]!);
    try {
      await send(taken.flatMap((w) => w.puts));
    } catch {
      await Promise.all(taken.map(alone));
      return;
    }
    for (const w of taken) w.resolve();
  };

  const pump = () => {
    if (sending || waiting.length === 0) return;
    sending = true;
    void sendTogether(takeDisjoint(waiting, maxPuts)).finally(() => {
      sending = false;
      pump();
    });
  };

  return (puts) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ puts, resolve, reject });
      pump();
    });
}

/**
 * Takes callers from the front, in order, while their Patients are not yet in the transaction and
 * it stays within `maxPuts`; the others keep their place. The first is always taken.
 */
function takeDisjoint(waiting: Waiting[], maxPuts: number): Waiting[] {
  const taken: Waiting[] = [];
  const ids = new Set<string>();
  let count = 0;
  for (let i = 0; i < waiting.length;) {
    const w = waiting[i]!;
    const own = w.puts.map((p) => p.patient.id ?? '');
    const fits = taken.length === 0 || (count + own.length <= maxPuts && own.every((id) => !ids.has(id)));
    if (!fits) {
      i++;
      continue;
    }
    waiting.splice(i, 1);
    taken.push(w);
    count += own.length;
    for (const id of own) ids.add(id);
  }
  return taken;
}
