import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { MarketInfoQry, MarketSubscribeCmd, TickersQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { MarketData } from '../market-data/market-data.js';
import { ReadMarketInfo } from '../use-cases/read-market-info/read-market-info.use-case.js';

/** Market data on the bus: the latest tickers with their age, subscriptions to the symbols a consumer needs, and what a market is. */
@Injectable()
export class MarketDataHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly marketData: MarketData,
    private readonly marketInfo: ReadMarketInfo,
  ) {}

  onApplicationBootstrap(): void {
    const queue = this.bus.topology.queueGroup('exchange-gateway');
    this.bus.serve(TickersQry, queue, (q) => Promise.resolve({ tickers: this.marketData.view(q) }));
    this.bus.serve(MarketSubscribeCmd, queue, (c) => this.marketData.subscribe(c.exchangeId, c.symbol, c.ttlMs));
    this.bus.serve(MarketInfoQry, queue, (q) => this.marketInfo.execute(q.exchangeId, q.symbol));
  }
}
