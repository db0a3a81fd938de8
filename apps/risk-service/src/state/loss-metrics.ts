import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { FIRM_SCOPE, botLimitScope, dailyLossOf, ownLossLimit, runawayLimit, type Decimal } from '@garde/domain';
import { RiskMetrics, type LossLimitLabel, type LossProbe } from '../metrics/risk.metrics.js';
import { ExposureFeed } from './exposure-feed.js';
import { RiskLimitsView } from './risk-limits-view.js';

type Utilization = ReturnType<LossProbe['utilization']>;

/** The loss gauges (utilization of the loss and runaway limits, the firm's equity and drawdown), computed at scrape time from this replica's ledger. */
@Injectable()
export class LossMetrics implements LossProbe, OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly metrics: RiskMetrics,
    private readonly limits: RiskLimitsView,
    private readonly feed: ExposureFeed,
  ) {}

  onModuleInit(): void {
    this.metrics.setLossProbe(this);
  }

  onModuleDestroy(): void {
    this.metrics.setLossProbe(undefined);
  }

  utilization(): Utilization {
    if (!this.feed.known || !this.limits.known) return [];
    const now = Date.now();
    const highest = new Map<string, Utilization[number]>();
    const keep = (scopeKind: 'firm' | 'bot', limit: LossLimitLabel, value: Decimal | number, max: Decimal | number | undefined) => {
      if (max === undefined) return;
      const ratio = Number(value.toString()) / Number(max.toString());
      const key = `${scopeKind}|${limit}`;
      if ((highest.get(key)?.ratio ?? -1) < ratio) highest.set(key, { scopeKind, limit, ratio });
    };
    const { ledger, activity } = this.feed;
    const firm = ledger.firmFigures(now);
    keep('firm', 'max_drawdown', firm.drawdown, ownLossLimit('maxDrawdown', FIRM_SCOPE, this.limits.lookup)?.value);
    keep('firm', 'max_daily_loss', dailyLossOf(firm.dailyPnl), ownLossLimit('maxDailyLoss', FIRM_SCOPE, this.limits.lookup)?.value);
    for (const botId of new Set([...ledger.bots(), ...activity.bots(now)])) {
      const figures = ledger.holderFigures(botId, now);
      keep('bot', 'max_drawdown', figures.drawdown, ownLossLimit('maxDrawdown', botLimitScope(botId), this.limits.lookup)?.value);
      keep('bot', 'max_daily_loss', dailyLossOf(figures.dailyPnl), ownLossLimit('maxDailyLoss', botLimitScope(botId), this.limits.lookup)?.value);
      keep('bot', 'max_fills_per_minute', activity.fillsWithin(botId, now), runawayLimit('maxFillsPerMinute', botId, this.limits.lookup)?.value);
      keep('bot', 'max_denials_per_minute', activity.denialsWithin(botId, now), runawayLimit('maxDenialsPerMinute', botId, this.limits.lookup)?.value);
    }
    return [...highest.values()];
  }

  firm(): { equity: number; drawdown: number } | null {
    if (!this.feed.known) return null;
    const firm = this.feed.ledger.firmFigures(Date.now());
    return { equity: Number(firm.equity.toString()), drawdown: Number(firm.drawdown.toString()) };
  }
}
