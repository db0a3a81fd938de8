import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { FIRM_SCOPE, parseLimitScope, scopeExposure, type LimitScopeKind } from '@garde/domain';
import { RiskMetrics, type ExposureProbe } from '../metrics/risk.metrics.js';
import { ExposureFeed } from './exposure-feed.js';
import { KillSwitchView } from './kill-switch-view.js';
import { MarketPrices } from './market-prices.js';
import { RiskLimitsView } from './risk-limits-view.js';

/** The exposure gauges, computed at scrape time from this replica's book, limits and prices. */
@Injectable()
export class ExposureMetrics implements ExposureProbe, OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly metrics: RiskMetrics,
    private readonly killSwitch: KillSwitchView,
    private readonly limits: RiskLimitsView,
    private readonly prices: MarketPrices,
    private readonly feed: ExposureFeed,
  ) {}

  onModuleInit(): void {
    this.metrics.setExposureProbe(this);
  }

  onModuleDestroy(): void {
    this.metrics.setExposureProbe(undefined);
  }

  utilization(): Partial<Record<LimitScopeKind, number>> {
    const highest: Partial<Record<LimitScopeKind, number>> = {};
    if (!this.feed.known) return highest;
    for (const { scope, limits } of this.limits.versions()) {
      if (limits.maxOpenNotional === null) continue;
      const parsed = parseLimitScope(scope);
      if ('error' in parsed) continue;
      const exposure = scopeExposure(this.feed.book, parsed, this.prices.priceOf);
      const ratio = exposure.unpriced ? Number.POSITIVE_INFINITY : Number(exposure.before.toString()) / Number(limits.maxOpenNotional.toString());
      highest[parsed.kind] = Math.max(highest[parsed.kind] ?? 0, ratio);
    }
    return highest;
  }

  firmExposure(): number | null {
    if (!this.feed.known) return null;
    const exposure = scopeExposure(this.feed.book, { kind: 'firm' }, this.prices.priceOf);
    return exposure.unpriced ? null : Number(exposure.before.toString());
  }

  countedOrders(): number {
    return this.feed.book.countedOrders();
  }

  ready(): Record<'kill_switch' | 'limits' | 'exposure', boolean> {
    return { kill_switch: this.killSwitch.known, limits: this.limits.known && this.limits.lookup(FIRM_SCOPE) !== undefined, exposure: this.feed.known };
  }
}
