import { type Venue } from '../venue.js';

/** Everything a test needs to check the venue's truth, whatever the faults make queries say. Secrets stay out. */
export function stateView(venue: Venue) {
  const engine = venue.engine;
  return {
    venueId: venue.id,
    serverTime: venue.clock(),
    listening: venue.isListening,
    faults: venue.faults,
    prices: Object.fromEntries(engine.symbols().map((s) => [s.id, engine.price(s.id).toString()])),
    accounts: venue.accountKeys().map((apiKey) => ({
      apiKey,
      balances: Object.fromEntries(
        [...engine.ledger.balances(apiKey).entries()].map(([asset, b]) => [asset, { free: b.free.toString(), locked: b.locked.toString() }]),
      ),
    })),
    orders: engine.allOrders().map((o) => ({
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
      apiKey: o.apiKey,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      price: o.price.toString(),
      origQty: o.origQty.toString(),
      executedQty: o.executedQty.toString(),
      cummulativeQuoteQty: o.cummulativeQuoteQty.toString(),
      status: o.status,
      time: o.time,
      updateTime: o.updateTime,
      neverFill: o.neverFill,
      unreported: o.unreported,
    })),
    trades: engine.allTrades().map((t) => ({
      id: t.id,
      orderId: t.orderId,
      apiKey: t.apiKey,
      symbol: t.symbol,
      side: t.side,
      price: t.price.toString(),
      qty: t.qty.toString(),
      quoteQty: t.quoteQty.toString(),
      commission: t.commission.toString(),
      commissionAsset: t.commissionAsset,
      isMaker: t.isMaker,
      time: t.time,
    })),
  };
}
