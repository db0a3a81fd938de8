import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { MarketSubscribeCmd, TickersQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { MarketData } from '../market-data/market-data.js';

/** Market data on the bus: the latest tickers with their age, and subscriptions to the symbols a consumer needs. */
@Injectable()
export class MarketDataHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly marketData: MarketData,
  ) {}

  onApplicationBootstrap(): void {
    const queue = this.bus.topology.queueGroup('exchange-gateway');
    this.bus.serve(TickersQry, queue, (q) => Promise.resolve({ tickers: this.marketData.view(q) }));
    this.bus.serve(MarketSubscribeCmd, queue, (c) => this.marketData.subscribe(c.exchangeId, c.symbol, c.ttlMs));
  }
}
