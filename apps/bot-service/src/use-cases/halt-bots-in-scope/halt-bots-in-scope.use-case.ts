import { Inject, Injectable } from '@nestjs/common';
import { BotStateChangedEvt, type ScopeState } from '@garde/contracts';
import { parseScope } from '@garde/domain';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, forEachBounded, type ContextLogger } from '@garde/platform';
import type { BotConfig } from '../../config/bot.config.js';
import { BotMetrics } from '../../metrics/bot.metrics.js';
import { BotRepository, type HaltedBot } from '../../persistence/index.js';
import { haltCorrelationId, haltReason } from '../bot-rules.js';

/** The last halt applied, for benchmarks and diagnostics. */
export interface HaltApplied {
  scope: string;
  /** Bots moved to HALTED. */
  bots: number;
  /** From the KV change received to the commit. */
  seconds: number;
}

/**
 * A kill-switch scope became HALTED: every haltable bot of that scope goes to HALTED at once, in one
 * statement and one transaction (DESIGN §3). The events follow after the commit, without holding
 * back the next halt.
 */
@Injectable()
export class HaltBotsInScopeUseCase {
  private readonly log: ContextLogger;
  private readonly publishing = new Set<Promise<void>>();
  private last: HaltApplied | undefined;

  constructor(
    private readonly repository: BotRepository,
    private readonly bus: MessageBus,
    private readonly metrics: BotMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: BotConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('kill-switch');
  }

  get lastHalt(): HaltApplied | undefined {
    return this.last;
  }

  /** `receivedAt`: process.hrtime.bigint() when the change arrived from KV. */
  async execute(state: ScopeState, receivedAt: bigint): Promise<HaltApplied> {
    const parsed = parseScope(state.scope);
    if ('error' in parsed) {
      this.log.error('kill-switch scope not understood: no bot halted', { scope: state.scope, error: parsed.error });
      return { scope: state.scope, bots: 0, seconds: 0 };
    }
    const correlationId = haltCorrelationId(state);
    const reason = haltReason(state);
    const halted = await this.repository.haltInScope(parsed, {
      reason,
      actor: state.actor,
      scope: state.scope,
      correlationId,
      at: new Date(),
    });
    const seconds = Number(process.hrtime.bigint() - receivedAt) / 1e9;
    this.metrics.haltDuration.observe(seconds);
    this.metrics.botsHalted.inc(halted.length);
    for (const h of halted) this.metrics.transitions.inc({ from: h.from, to: 'HALTED' });
    this.last = { scope: state.scope, bots: halted.length, seconds };
    this.log.info('kill switch applied to bots', { scope: state.scope, bots: halted.length, ms: Math.round(seconds * 1000), correlationId });
    if (halted.length) this.publishInBackground(halted, state, reason, correlationId);
    return this.last;
  }

  /** Resolves when every event of past halts has been published or given up. */
  async settled(): Promise<void> {
    while (this.publishing.size) await Promise.all(this.publishing);
  }

  private publishInBackground(halted: HaltedBot[], state: ScopeState, reason: string, correlationId: string): void {
    const ctx = { correlationId, actor: state.actor };
    const run = forEachBounded(halted, this.config.HALT_EVENT_CONCURRENCY, async (h) => {
      await this.bus.publish(BotStateChangedEvt, { botId: h.id, from: h.from, to: 'HALTED', reason, scope: state.scope }, ctx, h.id);
    }).then((failures) => {
      if (failures.length) {
        // The bots are HALTED in PostgreSQL either way; only the audit trail misses these events.
        this.log.error('state-changed events of halted bots not published', {
          scope: state.scope,
          failed: failures.length,
          bots: failures.slice(0, 10).map((f) => f.item.id),
          ...errorFields(failures[0]?.error),
        });
      }
    });
    this.publishing.add(run);
    void run.finally(() => this.publishing.delete(run));
  }
}
