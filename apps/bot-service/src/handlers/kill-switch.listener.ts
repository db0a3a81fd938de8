import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { ScopeState } from '@garde/contracts';
import { JsonLogger, KillSwitchWatcher, errorFields, type ContextLogger } from '@garde/platform';
import { HaltBotsInScopeUseCase } from '../use-cases/halt-bots-in-scope/halt-bots-in-scope.use-case.js';

/**
 * The KV boundary of the kill switch: every scope that becomes HALTED (from the initial read too)
 * is handed to HaltBotsInScope, one at a time, in the order the changes arrived. Deactivation
 * resumes nobody: only an operator does.
 */
@Injectable()
export class KillSwitchListener implements OnModuleDestroy {
  private readonly log: ContextLogger;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly watcher: KillSwitchWatcher,
    private readonly halt: HaltBotsInScopeUseCase,
    logger: JsonLogger,
  ) {
    this.log = logger.child('kill-switch');
  }

  /** Reads the bucket, halts what it says is HALTED, and only then resolves (before any request is served). */
  async start(): Promise<void> {
    this.watcher.onChange((change) => {
      if (change.state.state === 'HALTED') this.enqueue(change.state, process.hrtime.bigint());
    });
    await this.watcher.start();
    // After a reconnect, sweep every HALTED scope again: a bot set going while this view was blind is caught.
    this.watcher.onKnownChange((known) => {
      if (!known) return;
      const receivedAt = process.hrtime.bigint();
      for (const state of this.watcher.all()) if (state.state === 'HALTED') this.enqueue(state, receivedAt);
    });
    await this.queue;
  }

  /** Resolves when every halt received so far is committed. */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.watcher.stop();
    await this.idle();
    await this.halt.settled();
  }

  private enqueue(state: ScopeState, receivedAt: bigint): void {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await this.halt.execute(state, receivedAt);
      } catch (err) {
        this.log.error('halting bots failed: retrying in 1 s', { scope: state.scope, ...errorFields(err) });
        setTimeout(() => {
          // Retry only what is still HALTED: a later change has its own entry in the queue.
          if (!this.stopped && this.watcher.get(state.scope)?.state === 'HALTED') this.enqueue(state, receivedAt);
        }, 1000).unref();
      }
    });
  }
}
