import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BOT_STATES } from '@garde/domain';
import { JsonLogger, errorFields, type ContextLogger } from '@garde/platform';
import { BotRepository } from '../persistence/bot.repository.js';

@Injectable()
export class BotMetrics {
  /** Bots currently in each state. */
  readonly botsByState: Gauge<'state'>;
  /** Lifecycle transitions by from/to state (never the bot id: bounded labels). */
  readonly transitions: Counter<'from' | 'to'>;
  /** From the kill-switch change received from KV to the halt committed in PostgreSQL. */
  readonly haltDuration: Histogram;
  /** Bots moved to HALTED by a kill switch. */
  readonly botsHalted: Counter;
  private readonly log: ContextLogger;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  constructor(
    registry: Registry,
    private readonly repository: BotRepository,
    logger: JsonLogger,
  ) {
    this.log = logger.child('metrics');
    this.botsByState = new Gauge({ name: 'garde_bot_bots', help: 'Bots per lifecycle state', labelNames: ['state'], registers: [registry] });
    this.transitions = new Counter({
      name: 'garde_bot_transitions_total',
      help: 'Bot lifecycle transitions, by from and to state',
      labelNames: ['from', 'to'],
      registers: [registry],
    });
    this.haltDuration = new Histogram({
      name: 'garde_bot_kill_switch_halt_seconds',
      help: 'Time from a kill-switch change received to its bots HALTED in PostgreSQL',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.botsHalted = new Counter({ name: 'garde_bot_kill_switch_halted_bots_total', help: 'Bots moved to HALTED by a kill switch', registers: [registry] });
  }

  /**
   * Recounts bots per state (one GROUP BY) without making the caller wait. Calls during a refresh
   * coalesce into one more refresh, so a burst of changes costs two queries, not one per change.
   */
  refreshStates(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        const counts = await this.repository.countByState();
        for (const state of BOT_STATES) this.botsByState.set({ state }, counts.find((c) => c.state === state)?.count ?? 0);
      } while (this.refreshAgain);
    })()
      .catch((err: unknown) => this.log.warn('bots-per-state refresh failed', errorFields(err)))
      .finally(() => (this.refreshing = undefined));
  }

  /** Resolves when no refresh is running (for shutdown). */
  async settled(): Promise<void> {
    while (this.refreshing) await this.refreshing;
  }
}
