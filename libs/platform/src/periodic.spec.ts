import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { runEvery } from './periodic.js';

describe('runEvery', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('never runs twice at once, reports failures, and stop() waits for the run in progress', async () => {
    let running = 0;
    let runs = 0;
    let finish: (() => void) | undefined;
    const errors: unknown[] = [];
    const task = runEvery(
      100,
      () => {
        runs++;
        running++;
        if (runs === 2) return Promise.reject(new Error('boom')).finally(() => running--);
        return new Promise<void>((resolve) => (finish = resolve)).finally(() => running--);
      },
      (err) => errors.push(err),
    );
    await jest.advanceTimersByTimeAsync(350);
    expect([runs, running]).toEqual([1, 1]);
    finish!();
    await jest.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
    expect(errors).toEqual([new Error('boom')]);
    await jest.advanceTimersByTimeAsync(100);
    expect([runs, running]).toEqual([3, 1]);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(1000);
    expect([stopped, runs]).toEqual([false, 3]);
    finish!();
    await stopping;
    expect(running).toBe(0);
  });
});
