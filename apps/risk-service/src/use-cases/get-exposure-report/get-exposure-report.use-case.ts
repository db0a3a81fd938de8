import { Injectable } from '@nestjs/common';
import type { ExposureBot, ExposureExchange, ExposurePosition, ExposureReport, ExposureReportQuery, LimitUse } from '@garde/contracts';
import {
  Decimal,
  EMPTY_HOLDING,
  FIRM_SCOPE,
  botLimitScope,
  botScope,
  dailyLossOf,
  exchangeLimitScope,
  globalScope,
  ownLossLimit,
  referencePrice,
  runawayLimit,
  scopeExposure,
  worstCaseQuantity,
  type AppliedLimit,
  type EquityFigures,
  type Holding,
  type LedgerPosition,
  type ParsedLimitScope,
} from '@garde/domain';
import { RiskException } from '../../errors/risk.exception.js';
import { ExposureFeed } from '../../state/exposure-feed.js';
import { KillSwitchView } from '../../state/kill-switch-view.js';
import { MarketPrices } from '../../state/market-prices.js';
import { RiskLimitsView } from '../../state/risk-limits-view.js';

interface Row {
  readonly botId: string | null;
  readonly exchangeId: string;
  readonly symbol: string;
  ledger?: LedgerPosition;
  holding: Holding;
}

const key = (botId: string | null, exchangeId: string, symbol: string) => `${botId ?? ''}|${exchangeId}|${symbol}`;
const str = (d: Decimal | null | undefined): string | null => (d ? d.toString() : null);
const sum = (values: Array<Decimal | null>): Decimal | null =>
  values.reduce<Decimal | null>((a, b) => (a === null || b === null ? null : a.plus(b)), Decimal.ZERO);

/** A figure against its limit, with its utilization in % (two decimals). */
function use(value: Decimal | number | null, limit: AppliedLimit<Decimal | number> | undefined): LimitUse {
  const v = value === null ? null : value.toString();
  if (!limit) return { value: v, limit: null, limitScope: null, utilizationPercent: null };
  const percent = v === null ? null : Decimal.of(v).times('100').dividedBy(limit.value.toString(), 2, 'half-up').toFixed(2);
  return { value: v, limit: limit.value.toString(), limitScope: limit.scope, utilizationPercent: percent };
}

/**
 * `risk:exposure:report`: this replica's positions and PnL (the ledger, from every fill), open orders
 * (the exposure book), each against its limit with its utilization, per holder × instrument, per bot,
 * per exchange and for the firm. Positions are marked to the gateway's latest prices first. Unavailable
 * until the order events are read up to now and the limits are known.
 */
@Injectable()
export class GetExposureReport {
  constructor(
    private readonly feed: ExposureFeed,
    private readonly limits: RiskLimitsView,
    private readonly prices: MarketPrices,
    private readonly killSwitch: KillSwitchView,
  ) {}

  execute(query: ExposureReportQuery): Promise<ExposureReport> {
    if (!this.feed.known) {
      throw new RiskException(
        'UNAVAILABLE',
        'risk-service has not read the order events up to now (starting, or reconnecting): positions and PnL are not known yet; try again shortly',
      );
    }
    if (!this.limits.known) throw new RiskException('UNAVAILABLE', 'risk-service has not read the risk limits since it (re)connected; try again shortly');
    const now = Date.now();
    const { ledger } = this.feed;
    for (const { exchangeId, symbol } of ledger.instruments()) {
      const quote = this.prices.quote(exchangeId, symbol);
      const price = quote && referencePrice(quote);
      if (quote && price) ledger.mark(exchangeId, symbol, price, quote.at);
    }
    // A mark like the periodic ones: the peaks move with what the report shows (a peak shown is never lowered later).
    ledger.observeAll(now);
    const rows = this.rows(query);
    const positions = rows.map((r) => this.position(r));
    const botIds = new Set(rows.map((r) => r.botId));
    if (query.botId !== undefined && query.exchangeId === undefined && this.feed.activity.bots(now).includes(query.botId)) botIds.add(query.botId);
    const bots = [...botIds].sort(byHolder).map((botId) => this.bot(botId, positions, now));
    const exchanges = [...new Set(rows.map((r) => r.exchangeId))].sort().map((exchangeId) => this.exchange(exchangeId));
    const firm = ledger.firmFigures(now);
    // The firm counts everyone, whatever the filters: the rows again only when some were filtered out.
    const everyone = query.botId === undefined && query.exchangeId === undefined ? positions : this.rows({}).map((r) => this.position(r));
    const report: ExposureReport = {
      generatedAt: new Date(now).toISOString(),
      exchangeId: query.exchangeId ?? null,
      botId: query.botId ?? null,
      positions,
      bots,
      exchanges,
      firm: {
        exposure: this.exposure({ kind: 'firm' }, FIRM_SCOPE),
        openOrderNotional: str(sum(everyone.map((p) => (p.openOrderNotional === null ? null : Decimal.of(p.openOrderNotional))))),
        ...this.equity(firm, FIRM_SCOPE),
        killSwitch: this.killSwitch.get(globalScope())?.state ?? 'ACTIVE',
      },
    };
    return Promise.resolve(report);
  }

  /** Each holder × instrument with fills or counted orders, filtered; sorted by bot (manual orders last), exchange, symbol. */
  private rows(query: ExposureReportQuery): Row[] {
    const { ledger, book } = this.feed;
    const rows = new Map<string, Row>();
    const wanted = (botId: string | null, exchangeId: string) =>
      (query.botId === undefined || botId === query.botId) && (query.exchangeId === undefined || exchangeId === query.exchangeId);
    for (const p of ledger.positions()) {
      if (wanted(p.botId, p.exchangeId))
        rows.set(key(p.botId, p.exchangeId, p.symbol), { botId: p.botId, exchangeId: p.exchangeId, symbol: p.symbol, ledger: p, holding: EMPTY_HOLDING });
    }
    const holdings: Array<{ botId: string | null; exchangeId: string; symbol: string; holding: Holding }> = [
      ...book.bots().flatMap((botId) => book.botHoldings(botId).map((h) => ({ botId, ...h }))),
      ...book.instrumentHoldings().map(({ exchangeId, symbol }) => ({ botId: null, exchangeId, symbol, holding: book.holding(exchangeId, symbol, undefined) })),
    ];
    for (const h of holdings) {
      if (!wanted(h.botId, h.exchangeId)) continue;
      if (h.holding.openBuy.isZero() && h.holding.openSell.isZero() && !rows.has(key(h.botId, h.exchangeId, h.symbol))) continue;
      const row = rows.get(key(h.botId, h.exchangeId, h.symbol));
      if (row) row.holding = h.holding;
      else rows.set(key(h.botId, h.exchangeId, h.symbol), { botId: h.botId, exchangeId: h.exchangeId, symbol: h.symbol, holding: h.holding });
    }
    return [...rows.values()].sort((a, b) => byHolder(a.botId, b.botId) || a.exchangeId.localeCompare(b.exchangeId) || a.symbol.localeCompare(b.symbol));
  }

  private position(row: Row): ExposurePosition {
    const { ledger: p, holding } = row;
    const market = this.prices.priceOf(row.exchangeId, row.symbol);
    const order = this.feed.book.lastPrice(row.exchangeId, row.symbol);
    const mark = p
      ? { price: p.markPrice, source: p.markSource }
      : market
        ? { price: market, source: 'market' as const }
        : order
          ? { price: order, source: 'order' as const }
          : null;
    const open = holding.openBuy.plus(holding.openSell);
    const zero = '0';
    return {
      botId: row.botId,
      exchangeId: row.exchangeId,
      symbol: row.symbol,
      quote: row.symbol.split('/')[1] ?? '',
      quantity: (p?.quantity ?? Decimal.ZERO).toString(),
      averageCost: str(p?.averageCost),
      markPrice: str(mark?.price),
      markSource: mark?.source ?? null,
      notional: p ? p.notional.toString() : mark ? zero : null,
      openBuy: holding.openBuy.toString(),
      openSell: holding.openSell.toString(),
      openOrderNotional: open.isZero() ? zero : mark ? open.times(mark.price).toString() : null,
      realizedPnl: p?.realizedPnl.toString() ?? zero,
      unrealizedPnl: p?.unrealizedPnl.toString() ?? zero,
      fees: p?.fees.toString() ?? zero,
      unpricedFees: Object.fromEntries(Object.entries(p?.unpricedFees ?? {}).map(([c, v]) => [c, v.toString()])),
      equity: p?.equity.toString() ?? zero,
    };
  }

  private bot(botId: string | null, positions: ExposurePosition[], now: number): ExposureBot {
    const { ledger, activity, book } = this.feed;
    const figures = ledger.holderFigures(botId, now);
    const own = positions.filter((p) => p.botId === botId);
    const openOrderNotional = str(sum(own.map((p) => (p.openOrderNotional === null ? null : Decimal.of(p.openOrderNotional)))));
    if (botId === null) {
      // The manual orders: no bot scope, no limit of their own.
      let exposure: Decimal | null = Decimal.ZERO;
      for (const { exchangeId, symbol } of book.instrumentHoldings()) {
        const worst = worstCaseQuantity(book.holding(exchangeId, symbol, undefined));
        if (worst.isZero()) continue;
        const price = this.prices.priceOf(exchangeId, symbol) ?? book.lastPrice(exchangeId, symbol);
        exposure = exposure && price ? exposure.plus(worst.times(price)) : null;
      }
      return {
        botId,
        exposure: use(exposure, undefined),
        openOrderNotional,
        ...this.equity(figures, undefined),
        fillsLastMinute: use(null, undefined),
        deniedLastMinute: use(null, undefined),
        killSwitch: null,
      };
    }
    return {
      botId,
      exposure: this.exposure({ kind: 'bot', botId }, botLimitScope(botId)),
      openOrderNotional,
      ...this.equity(figures, botLimitScope(botId)),
      fillsLastMinute: use(activity.fillsWithin(botId, now), runawayLimit('maxFillsPerMinute', botId, this.limits.lookup)),
      deniedLastMinute: use(activity.denialsWithin(botId, now), runawayLimit('maxDenialsPerMinute', botId, this.limits.lookup)),
      killSwitch: this.killSwitch.get(botScope(botId))?.state ?? 'ACTIVE',
    };
  }

  private exchange(exchangeId: string): ExposureExchange {
    const rows = this.rows({ exchangeId }).map((r) => this.position(r));
    const total = (pick: (p: ExposurePosition) => string) => rows.reduce((a, p) => a.plus(pick(p)), Decimal.ZERO).toString();
    const unpriced: Record<string, Decimal> = {};
    for (const p of rows) for (const [c, v] of Object.entries(p.unpricedFees)) unpriced[c] = (unpriced[c] ?? Decimal.ZERO).plus(v);
    return {
      exchangeId,
      exposure: this.exposure({ kind: 'exchange', exchangeId }, exchangeLimitScope(exchangeId)),
      openOrderNotional: str(sum(rows.map((p) => (p.openOrderNotional === null ? null : Decimal.of(p.openOrderNotional))))),
      realizedPnl: total((p) => p.realizedPnl),
      unrealizedPnl: total((p) => p.unrealizedPnl),
      fees: total((p) => p.fees),
      unpricedFees: Object.fromEntries(Object.entries(unpriced).map(([c, v]) => [c, v.toString()])),
    };
  }

  /** A scope's exposure as the pre-trade check values it, against the scope's own maxOpenNotional. */
  private exposure(scope: ParsedLimitScope, limitScope: string): LimitUse {
    const exposure = scopeExposure(this.feed.book, scope, this.prices.priceOf);
    const limit = this.limits.lookup(limitScope)?.maxOpenNotional ?? null;
    return use(exposure.unpriced ? null : exposure.before, limit === null ? undefined : { value: limit, scope: limitScope });
  }

  /** Equity figures, the drawdown and the day's loss against the scope's own limits (none for the manual orders). */
  private equity(f: EquityFigures, limitScope: string | undefined) {
    const limit = (name: 'maxDrawdown' | 'maxDailyLoss') => (limitScope === undefined ? undefined : ownLossLimit(name, limitScope, this.limits.lookup));
    return {
      realizedPnl: f.realizedPnl.toString(),
      unrealizedPnl: f.unrealizedPnl.toString(),
      fees: f.fees.toString(),
      unpricedFees: Object.fromEntries(Object.entries(f.unpricedFees).map(([c, v]) => [c, v.toString()])),
      equity: f.equity.toString(),
      peak: f.peak.toString(),
      drawdown: use(f.drawdown, limit('maxDrawdown')),
      dailyPnl: f.dailyPnl.toString(),
      dailyLoss: use(dailyLossOf(f.dailyPnl), limit('maxDailyLoss')),
      currency: f.currency,
    };
  }
}

/** Bots by id, the manual orders (null) last. */
function byHolder(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a.localeCompare(b);
}
