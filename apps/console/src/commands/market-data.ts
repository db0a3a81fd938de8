import type { TickerView } from '@garde/contracts';
import { EXIT } from '../api-client.js';
import { str } from '../args.js';
import type { Command } from '../command.js';
import { table } from '../output.js';

export const marketTickers: Command = {
  name: 'market:tickers',
  summary: 'The latest price of each symbol in use, with its age (exit 1 if any is stale)',
  usage: ['market:tickers [--exchange=<exchange-id>] [--symbol=BASE/QUOTE] [--json]'],
  values: ['exchange', 'symbol'],
  flags: [],
  async run(args, ctx) {
    const query = new URLSearchParams();
    const exchange = str(args, 'exchange');
    const symbol = str(args, 'symbol');
    if (exchange) query.set('exchange', exchange);
    if (symbol) query.set('symbol', symbol);
    const { tickers } = await ctx.api.call<{ tickers: TickerView[] }>('GET', `/api/v1/market/tickers${query.size ? `?${query.toString()}` : ''}`);
    if (ctx.json) ctx.out(JSON.stringify({ tickers }));
    else if (tickers.length === 0) ctx.out('No ticker: no symbol is in use (no live order, subscription or MARKET_DATA_SYMBOLS entry) for this filter.');
    else
      ctx.out(
        table(
          ['EXCHANGE', 'SYMBOL', 'BID', 'ASK', 'LAST', 'AGE', ''],
          tickers.map((t) => [t.exchangeId, t.symbol, t.bid ?? '-', t.ask ?? '-', t.last ?? '-', `${(t.ageMs / 1000).toFixed(1)} s`, t.stale ? 'STALE' : '']),
        ),
      );
    return tickers.some((t) => t.stale) ? EXIT.REFUSED : EXIT.OK;
  },
};
