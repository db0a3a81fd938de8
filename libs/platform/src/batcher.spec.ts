import { describe, expect, it } from '@jest/globals';
import { Batcher } from './batcher.js';

/** A `run` whose batches are recorded and finished by the test. */
function controlled() {
  const batches: Array<{ inputs: number[]; finish: (outcomes?: string[]) => void; fail: (err: Error) => void }> = [];
  const run = (inputs: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push({ inputs, finish: (outcomes) => resolve(outcomes ?? inputs.map((i) => `done ${i}`)), fail: reject });
    });
  return { batches, run };
}

/** Lets the batcher's promise chain settle and its next turn pass. */
const turn = async () => {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('Batcher', () => {
  it('sends the calls of one turn as one batch, and those made while it is in flight as the next one', async () => {
    const { batches, run } = controlled();
    const batcher = new Batcher(run, { maxBatch: 100, maxInFlight: 1 });
    const first = [1, 2, 3].map((i) => batcher.add(i));
    await turn();
    expect(batches.map((b) => b.inputs)).toEqual([[1, 2, 3]]);
    const second = [4, 5].map((i) => batcher.add(i));
    await turn();
    expect(batches).toHaveLength(1); // one in flight at most
    batches[0]!.finish();
    expect(await Promise.all(first)).toEqual(['done 1', 'done 2', 'done 3']);
    await turn();
    expect(batches.map((b) => b.inputs)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    batches[1]!.finish();
    expect(await Promise.all(second)).toEqual(['done 4', 'done 5']);
  });

  it('splits a burst into batches of maxBatch, running up to maxInFlight at once', async () => {
    const { batches, run } = controlled();
    const batcher = new Batcher(run, { maxBatch: 2, maxInFlight: 2 });
    const calls = [1, 2, 3, 4, 5].map((i) => batcher.add(i));
    await turn();
    expect(batches.map((b) => b.inputs)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    batches[1]!.finish();
    await turn();
    expect(batches.map((b) => b.inputs)).toEqual([[1, 2], [3, 4], [5]]);
    batches[0]!.finish();
    batches[2]!.finish();
    expect(await Promise.all(calls)).toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
  });

  it('rejects every call of a failed batch with its error, and the next batch still runs', async () => {
    const { batches, run } = controlled();
    const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1 });
    const failed = [batcher.add(1), batcher.add(2)];
    await turn();
    batches[0]!.fail(new Error('connection reset'));
    await expect(failed[0]).rejects.toThrow('connection reset');
    await expect(failed[1]).rejects.toThrow('connection reset');
    const later = batcher.add(3);
    await turn();
    batches[1]!.finish();
    expect(await later).toBe('done 3');
  });

  it('rejects the batch when run answers a different number of outcomes, or throws synchronously', async () => {
    const { batches, run } = controlled();
    const short = new Batcher(run, { maxBatch: 10, maxInFlight: 1 });
    const calls = [short.add(1), short.add(2)];
    await turn();
    batches[0]!.finish(['only one']);
    await expect(calls[0]).rejects.toThrow('a batch of 2 answered 1 outcomes');
    await expect(calls[1]).rejects.toThrow('a batch of 2 answered 1 outcomes');

    const throwing = new Batcher<number, string>(
      () => {
        throw new Error('bad input');
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    await expect(throwing.add(1)).rejects.toThrow('bad input');
  });
});
