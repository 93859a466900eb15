import type { Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { combineTransactions, type PatientPuts } from '../../src/identity/combined-transactions.ts';

const put = (id: string, ifMatch?: string) => ({
  patient: { resourceType: 'Patient', id } as Patient,
  ...(ifMatch ? { ifMatch } : {}),
});
const ids = (puts: PatientPuts) => puts.map((p) => p.patient.id);

/** A repository stand-in that records each transaction and answers when told to. */
function recorder(fail: (puts: PatientPuts) => Error | undefined = () => undefined) {
  const sent: (string | undefined)[][] = [];
  const open: (() => void)[] = [];
  const send = (puts: PatientPuts) =>
    new Promise<void>((resolve, reject) => {
      sent.push(ids(puts));
      open.push(() => {
        const err = fail(puts);
        if (err) reject(err);
        else resolve();
      });
    });
  const answerNext = async () => {
    open.shift()!();
    // Let the combiner see the answer and send what waited.
    await new Promise((r) => setImmediate(r));
  };
  return { send, sent, answerNext };
}

describe('combined identity transactions', () => {
  it('sends the first at once and those that came while it was out together, next', async () => {
    const r = recorder();
    const tx = combineTransactions(r.send);
    const done: string[] = [];
    const first = tx([put('g1'), put('s1', '1')]).then(() => done.push('first'));
    const second = tx([put('g2'), put('s2', '1')]).then(() => done.push('second'));
    const third = tx([put('g3')]).then(() => done.push('third'));
    expect(r.sent).toEqual([['g1', 's1']]);
    await r.answerNext();
    expect(r.sent).toEqual([
      ['g1', 's1'],
      ['g2', 's2', 'g3'],
    ]);
    await r.answerNext();
    await Promise.all([first, second, third]);
    expect(done).toEqual(['first', 'second', 'third']);
  });

  it('never puts two writes of one Patient in one transaction', async () => {
    const r = recorder();
    const tx = combineTransactions(r.send);
    const calls = [
      tx([put('a')]),
      tx([put('g'), put('s1', '2')]),
      tx([put('g'), put('s2', '4')]),
      tx([put('b')]),
    ];
    await r.answerNext();
    expect(r.sent[1]).toEqual(['g', 's1', 'b']);
    await r.answerNext();
    expect(r.sent[2]).toEqual(['g', 's2']);
    await r.answerNext();
    await Promise.all(calls);
  });

  it('when a combined transaction fails, sends each caller alone so the error reaches its own caller', async () => {
    const stale = Object.assign(new Error('HTTP 412'), { status: 412 });
    const r = recorder((puts) => (ids(puts).includes('s2') ? stale : undefined));
    const tx = combineTransactions(r.send);
    const first = tx([put('g1')]);
    const ok = tx([put('g3'), put('s3', '1')]);
    const bad = tx([put('g2'), put('s2', '1')]).catch((e: unknown) => e);
    await r.answerNext(); // the first, alone
    expect(r.sent[1]).toEqual(['g3', 's3', 'g2', 's2']);
    await r.answerNext(); // fails as a whole: both go again, each alone
    expect(r.sent.slice(2)).toEqual([
      ['g3', 's3'],
      ['g2', 's2'],
    ]);
    await r.answerNext();
    await r.answerNext();
    await first;
    await expect(ok).resolves.toBeUndefined();
    expect(await bad).toBe(stale);
  });

  it('keeps a transaction within its size, taking callers in order', async () => {
    const r = recorder();
    const tx = combineTransactions(r.send, 4);
    const calls = [
      tx([put('x')]),
      tx([put('a1'), put('a2')]),
      tx([put('b1'), put('b2'), put('b3')]),
      tx([put('c1')]),
    ];
    await r.answerNext();
    expect(r.sent[1]).toEqual(['a1', 'a2', 'c1']);
    await r.answerNext();
    expect(r.sent[2]).toEqual(['b1', 'b2', 'b3']);
    await r.answerNext();
    await Promise.all(calls);
  });
});
