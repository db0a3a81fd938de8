import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { referencePrice } from '@garde/domain';
import { JsonLogger, SERVICE_CONFIG, errorFields, runEvery, type ContextLogger, type PeriodicTask } from '@garde/platform';
import type { RiskConfig } from '../config/risk.config.js';
import { EnforceLossLimits } from '../use-cases/enforce-loss-limits/enforce-loss-limits.use-case.js';
import { ExposureFeed } from './exposure-feed.js';
import { MarketPrices } from './market-prices.js';

/**
 * Drives the PnL marks and the automatic kill switch: every PNL_MARK_INTERVAL_MS it marks each open
 * position to the gateway's latest price (asking the gateway to keep polling that market, as the
 * checks do), moves the peaks and day starts of every equity, and judges the loss and runaway limits
 * of every bot and the firm; after each new fill or counted denial it judges at once those of the firm
 * and of the bot it moved (the ledger has already moved the peak at the fill): the other bots' figures
 * did not change, and a fleet's burst of fills costs a pass over its own bots, not over the whole fleet
 * for each fill. Judgments never overlap: what is asked for during one runs right after it.
 */
@Injectable()
export class LossLimitWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private task?: PeriodicTask;
  private judging?: Promise<void>;
  /** Asked for and not judged yet: every bot, or the bots moved (the firm always). */
  private due?: { all: boolean; bots: Set<string> };
  private stopped = false;
  private readonly log: ContextLogger;

  constructor(
    private readonly feed: ExposureFeed,
    private readonly prices: MarketPrices,
    private readonly enforce: EnforceLossLimits,
    @Inject(SERVICE_CONFIG) private readonly config: RiskConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('loss-limits');
  }

  onApplicationBootstrap(): void {
    this.feed.onActivity((botId) => this.judgeSoon(botId));
    this.task = runEvery(
      this.config.PNL_MARK_INTERVAL_MS,
      async () => {
        await this.mark();
        this.judgeSoon();
        await this.judging;
      },
      (err) => this.log.error('marking positions failed', errorFields(err)),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.task?.stop();
    await this.judging;
  }

  /** Marks every instrument someone holds a position in, then observes every equity now. */
  async mark(): Promise<void> {
    const held = new Map<string, { exchangeId: string; symbol: string }>();
    for (const p of this.feed.ledger.positions()) if (!p.quantity.isZero()) held.set(`${p.exchangeId}|${p.symbol}`, p);
    await Promise.all(
      [...held.values()].map(async ({ exchangeId, symbol }) => {
        const quote = await this.prices.quoteFor(exchangeId, symbol);
        const price = quote && referencePrice(quote);
        if (quote && price) this.feed.ledger.mark(exchangeId, symbol, price, quote.at);
      }),
    );
    this.feed.ledger.observeAll(Date.now());
  }

  /**
   * Judges the limits now, or right after the judgment in progress: of the firm and `botId` (null: the
   * firm only, a manual order's fill), of every bot when `botId` is absent.
   */
  judgeSoon(botId?: string | null): void {
    if (this.stopped) return;
    const due = (this.due ??= { all: false, bots: new Set() });
    if (botId === undefined) due.all = true;
    else if (botId !== null) due.bots.add(botId);
    if (this.judging) return;
    this.judging = (async () => {
      while (this.due && !this.stopped) {
        const { all, bots } = this.due;
        this.due = undefined;
        await this.enforce.execute(Date.now(), all ? undefined : bots);
      }
    })()
      .catch((err: unknown) => this.log.error('judging the loss limits failed', errorFields(err)))
      .finally(() => (this.judging = undefined));
  }
}
