import { Inject, Injectable } from '@nestjs/common';
import type { AccountReconciliation, Order, ReconcileQuery, ReconciliationReport } from '@garde/contracts';
import { Decimal, compareBalances, compareOpenOrders, type BalanceComparison, type OrderFinding, type ReconciliationTolerances } from '@garde/domain';
import { SERVICE_CONFIG, type MessageContext } from '@garde/platform';
import type { RiskConfig } from '../../config/risk.config.js';
import { RiskException } from '../../errors/risk.exception.js';
import { DiscrepancyRepository } from '../../persistence/discrepancy.repository.js';
import { LedgerRepository } from '../../persistence/ledger.repository.js';
import { LedgerFeed } from '../../state/ledger-feed.js';
import { GatewayAccounts } from '../../venues/gateway-accounts.js';

/** How long a look waits for the ledger to record the fills already published, before it compares. */
const CATCH_UP_WAIT_MS = 2000;

/** One account, looked at now: the venue against the ledger. */
export interface AccountLook {
  accountId: string;
  exchangeId: string;
  status: AccountReconciliation['status'];
  error?: string;
  /** The ledger's opening time; null before the account is opened. */
  openedAt: Date | null;
  /** When the venue was read (the gateway's time of the balances). */
  venueReadAt: Date | null;
  /** The venue's totals per asset. */
  venueBalances: Array<{ asset: string; total: Decimal }>;
  /** Empty before the account is opened. */
  balances: BalanceComparison[];
  orders: OrderFinding[];
  /** The orders the gateway holds as not final on this account (their bots trade on it). */
  liveOrders: Order[];
}

export interface PortfolioLook {
  /** When the look started: an adjustment recorded since makes what it found stale. */
  at: Date;
  /** True when every fill published before the venue was read is in the ledger. */
  ledgerCaughtUp: boolean;
  accounts: AccountLook[];
  /** The discrepancies open already (sightingKey): found again, they are not raised again. */
  openKeys: Set<string>;
}

/**
 * Reconciliation (RB-003): reads each account's balances and open orders at its venue (through the
 * gateway), then — once the ledger has recorded the fills already published — the ledger, and compares
 * them (libs/domain reconciliation.ts). `look` writes nothing; `execute` is `portfolio:reconcile`
 * without --apply: the differences, changing nothing.
 */
@Injectable()
export class ReconcilePortfolio {
  private readonly tolerances: ReconciliationTolerances;

  constructor(
    private readonly gateway: GatewayAccounts,
    private readonly ledger: LedgerRepository,
    private readonly discrepancies: DiscrepancyRepository,
    private readonly feed: LedgerFeed,
    @Inject(SERVICE_CONFIG) config: RiskConfig,
  ) {
    this.tolerances = { default: config.RECONCILE_TOLERANCE_DEFAULT, perAsset: config.RECONCILE_TOLERANCES };
  }

  get toleranceSettings(): ReconciliationTolerances {
    return this.tolerances;
  }

  /** Waits up to `timeoutMs` for the ledger to book every fill published so far. */
  ledgerCaughtUp(timeoutMs: number): Promise<boolean> {
    return this.feed.waitCaughtUp(timeoutMs);
  }

  async execute(query: ReconcileQuery, ctx: MessageContext): Promise<ReconciliationReport> {
    const look = await this.look(query, ctx);
    const open = await this.discrepancies.openPerAccount();
    return {
      at: look.at.toISOString(),
      ledgerCaughtUp: look.ledgerCaughtUp,
      accounts: look.accounts.map((a) => ({
        accountId: a.accountId,
        exchangeId: a.exchangeId,
        status: a.status,
        ...(a.error ? { error: a.error } : {}),
        openedAt: a.openedAt?.toISOString() ?? null,
        venueReadAt: a.venueReadAt?.toISOString() ?? null,
        balances: a.balances.map((b) => ({
          asset: b.asset,
          venue: b.venue.toString(),
          ledger: b.ledger.toString(),
          difference: b.difference.toString(),
          tolerance: b.tolerance.toString(),
          overTolerance: b.overTolerance,
        })),
        orders: a.orders.map((o) => ({ ...o })),
        openDiscrepancies: open.get(a.accountId) ?? 0,
      })),
    };
  }

  /** Looks at the accounts (of one exchange, or some, or all); NOT_FOUND when an exchange is named that has none. */
  async look(query: { exchangeId?: string | undefined; accountIds?: readonly string[] }, ctx: MessageContext): Promise<PortfolioLook> {
    const at = new Date();
    const [balances, openOrders] = await Promise.all([this.gateway.balances(ctx), this.gateway.openOrders(ctx)]);
    const lines = balances.accounts.filter(
      (l) =>
        (query.exchangeId === undefined || l.exchangeId === query.exchangeId) && (query.accountIds === undefined || query.accountIds.includes(l.accountId)),
    );
    if (query.exchangeId !== undefined && lines.length === 0) {
      throw new RiskException('NOT_FOUND', `no exchange account on exchange ${query.exchangeId} (bin/console exchange:account:list)`);
    }
    // Read after the venue: an order the venue has was recorded by the gateway before it was sent.
    const live = new Map(await Promise.all(lines.map(async (l) => [l.accountId, await this.gateway.liveOrders(l.accountId, ctx)] as const)));
    const ledgerCaughtUp = await this.feed.waitCaughtUp(CATCH_UP_WAIT_MS);
    const ledger = await this.ledger.accounts(lines.map((l) => l.accountId));
    const openKeys = await this.discrepancies.openKeys();

    const accounts = lines.map((line): AccountLook => {
      const ordersLine = openOrders.accounts.find((o) => o.accountId === line.accountId);
      const opened = ledger.get(line.accountId);
      const liveOrders = live.get(line.accountId) ?? [];
      const base = { accountId: line.accountId, exchangeId: line.exchangeId, openedAt: opened?.openedAt ?? null, liveOrders };
      const error = line.error ?? ordersLine?.error ?? (ordersLine ? undefined : 'the gateway did not report its open orders');
      if (error !== undefined) {
        return { ...base, status: 'VENUE_ERROR', error, venueReadAt: null, venueBalances: [], balances: [], orders: [] };
      }
      const venueReadAt = new Date(line.at);
      const venueBalances = line.balances.map((b) => ({ asset: b.asset, total: Decimal.of(b.total) }));
      const orders = compareOpenOrders({
        venue: ordersLine!.orders.map((o) => ({ venueOrderId: o.venueOrderId, clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side })),
        known: liveOrders.map((o) => ({
          clientOrderId: o.clientOrderId,
          venueOrderId: o.venueOrderId,
          botId: o.botId,
          symbol: o.symbol,
          side: o.side,
          state: o.state,
          createdAt: Date.parse(o.createdAt),
        })),
        venueReadAt: Date.parse(ordersLine!.at),
      });
      if (!opened) {
        return { ...base, status: 'NOT_OPENED', venueReadAt, venueBalances, balances: [], orders };
      }
      const compared = compareBalances(new Map(venueBalances.map((b) => [b.asset, b.total])), opened.balances, this.tolerances);
      const differs = orders.length > 0 || compared.some((b) => b.overTolerance);
      return { ...base, status: differs ? 'DIFFERENCES' : 'MATCHED', venueReadAt, venueBalances, balances: compared, orders };
    });
    return { at, ledgerCaughtUp, accounts, openKeys };
  }
}
