/** A task run on a timer; `stop()` clears the timer and waits for a run in progress to end. */
export interface PeriodicTask {
  stop(): Promise<void>;
}

/**
 * Runs `task` every `intervalMs`, never two runs at once: a run still going when the next one is due
 * makes that one skip. A failed run goes to `onError`; the next run comes as usual.
 */
export function runEvery(intervalMs: number, task: () => Promise<void>, onError: (err: unknown) => void): PeriodicTask {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= task()
      .catch(onError)
      .finally(() => (running = undefined));
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
