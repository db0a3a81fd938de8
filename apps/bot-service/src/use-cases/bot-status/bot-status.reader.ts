import { Inject, Injectable } from '@nestjs/common';
import { BotLiveOrderCountsQry, TickersQry, type Actor, type BotStatus } from '@garde/contracts';
import { MessageBus, SERVICE_CONFIG } from '@garde/platform';
import type { BotConfig } from '../../config/bot.config.js';
import type { BotRow } from '../../persistence/bot.entities.js';
import { BotRepository } from '../../persistence/index.js';
import { botStatus, markPrices } from './bot-status.view.js';

/** Who asks the gateway for the mark prices and order counts of bot:status. */
const STATUS_ACTOR: Actor = { id: 'bot-status', kind: 'system' };

/**
 * The status of bots as `bot:status` shows them: each bot with its position and PnL (from the fills
 * recorded for it, one query for all the bots), its open orders and its last error. The mark price
 * comes from the gateway's tickers, and the bots' orders not final from the gateway's books, each asked
 * once for all the bots within STATUS_MARKET_DATA_TIMEOUT_MS; without a fresh price the unrealized PnL
 * is null, with the reason, and without the gateway's answer its order count is null.
 */
@Injectable()
export class BotStatusReader {
  constructor(
    private readonly repository: BotRepository,
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: BotConfig,
  ) {}

  async statusOf(rows: BotRow[]): Promise<BotStatus[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [details, mark, live] = await Promise.all([this.repository.statusDetails(ids), this.marks(rows), this.liveCounts(ids)]);
    return rows.map((row) => botStatus(row, details.get(row.id), mark(row.exchangeId, row.symbol), live ? (live[row.id] ?? 0) : null));
  }

  /** The gateway's count of each bot's orders not final, or null when it does not answer in time. */
  private async liveCounts(botIds: string[]): Promise<Record<string, number> | null> {
    const reply = await this.bus
      .request(BotLiveOrderCountsQry, { botIds }, { actor: STATUS_ACTOR }, this.config.STATUS_MARKET_DATA_TIMEOUT_MS)
      .catch(() => undefined);
    return reply?.ok ? reply.result.counts : null;
  }

  /** The gateway's tickers: those of the one market when all the bots trade it, else all of them (one request either way). */
  private async marks(rows: BotRow[]): Promise<ReturnType<typeof markPrices>> {
    const [first] = rows;
    const oneMarket = rows.every((r) => r.exchangeId === first!.exchangeId && r.symbol === first!.symbol);
    try {
      const reply = await this.bus.request(
        TickersQry,
        oneMarket ? { exchangeId: first!.exchangeId, symbol: first!.symbol } : {},
        { actor: STATUS_ACTOR },
        this.config.STATUS_MARKET_DATA_TIMEOUT_MS,
      );
      return markPrices(reply.ok ? { ok: true, tickers: reply.result.tickers } : { ok: false, why: `${reply.error.code}: ${reply.error.message}` });
    } catch (err) {
      // A status without a mark price is still a status: the position and the realized PnL stand.
      return markPrices({ ok: false, why: err instanceof Error ? err.message : String(err) });
    }
  }
}
