import type { CreateBot, ErrorBody, MarketInfo } from '@garde/contracts';
import { BotException } from '../../errors/bot.exception.js';

type BotMarket = Pick<CreateBot, 'exchangeId' | 'symbol'>;

/**
 * Why a bot is not created when the gateway did not confirm its market (MarketInfoQry): the
 * gateway's closed code kept where it says what is wrong with the definition, UNAVAILABLE when no answer
 * came (no gateway, a timeout, a failure): then nobody knows, and nothing is created either.
 */
export function marketRefusal(bot: BotMarket, error: ErrorBody, timeoutMs: number): BotException {
  const exchange = `exchange "${bot.exchangeId}"`;
  const details = { exchangeId: bot.exchangeId, symbol: bot.symbol };
  const unknown = `whether ${exchange} has an account and lists ${bot.symbol} is unknown`;
  switch (error.code) {
    case 'NO_VENUE_CONFIGURED':
      return new BotException('NO_VENUE_CONFIGURED', `bot not created: no exchange account for ${exchange}`, details);
    case 'UNKNOWN_SYMBOL':
      return new BotException('UNKNOWN_SYMBOL', `bot not created: ${bot.symbol} is not listed on ${exchange}`, details);
    case 'INVALID_REQUEST':
      return new BotException('INVALID_REQUEST', `bot not created: ${error.message}`, details);
    case 'EXCHANGE_UNAVAILABLE':
      return new BotException('EXCHANGE_UNAVAILABLE', `bot not created: ${unknown}: ${error.message}`, details);
    case 'TIMEOUT':
      return new BotException('UNAVAILABLE', `bot not created: the exchange gateway did not answer within ${timeoutMs} ms, so ${unknown}`, details);
    default:
      return new BotException(
        'UNAVAILABLE',
        `bot not created: the exchange gateway could not be asked (${error.code}: ${error.message}), so ${unknown}`,
        details,
      );
  }
}

/**
 * The parameters with the venue's steps in place of any given: a running strategy takes the venue's
 * steps from the market data over its parameters, so a definition is checked against those.
 */
export function withVenueSteps(parameters: Record<string, unknown>, market: MarketInfo): Record<string, unknown> {
  return {
    ...parameters,
    ...(market.tickSize !== null && { tickSize: market.tickSize }),
    ...(market.stepSize !== null && { stepSize: market.stepSize }),
  };
}

/** `BTC/USDT on exchange "sim-1" (its tickSize 0.01, stepSize 0.00001)`: the market a definition did not fit. */
export function describeMarket(market: MarketInfo): string {
  const steps = [market.tickSize !== null && `tickSize ${market.tickSize}`, market.stepSize !== null && `stepSize ${market.stepSize}`].filter(Boolean);
  return `${market.symbol} on exchange "${market.exchangeId}"${steps.length ? ` (its ${steps.join(', ')})` : ''}`;
}
