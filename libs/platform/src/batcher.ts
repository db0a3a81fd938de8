/**
 * Group commit: calls made in the same event-loop turn, or while a batch is in flight, go out together
 * as one call of `run` (one statement, one round trip), like a database's group commit. A burst of N
 * callers costs one or two round trips instead of N, and a lone caller waits for no timer: its batch
 * leaves at the end of the current turn (setImmediate).
 *
 * `run` answers one outcome per input, in the inputs' order; if it throws, every call of that batch is
 * rejected with the error. At most `maxInFlight` batches run at once (1: batches run in the order their
 * calls were made, which a single connection's statements need), each of at most `maxBatch` inputs.
 */
export class Batcher<I, O> {
  private pending: Array<{ input: I; resolve: (outcome: O) => void; reject: (err: unknown) => void }> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly limits: { maxBatch: number; maxInFlight: number },
  ) {}

  add(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.limits.maxInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.limits.maxInFlight && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.limits.maxBatch);
      this.inFlight++;
      const settle = (outcomes: O[]) => {
        if (outcomes.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${outcomes.length} outcomes`);
        batch.forEach((call, i) => call.resolve(outcomes[i]!));
      };
      // A `run` that throws synchronously rejects its batch like one whose promise rejects.
      Promise.resolve()
        .then(() => this.run(batch.map((call) => call.input)))
        .then(settle)
        .catch((err: unknown) => batch.forEach((call) => call.reject(err)))
        .finally(() => {
          this.inFlight--;
          this.schedule();
        });
    }
  }
}
