import { describe, expect, it } from '@jest/globals';
import type { MarketInfo } from '@garde/contracts';
import { parseStrategyParameters } from '@garde/domain';
import { describeMarket, marketRefusal, withVenueSteps } from './market-check.js';

const BOT = { exchangeId: 'sim-1', symbol: 'BTC/XYZ' };
const MARKET: MarketInfo = {
  exchangeId: 'sim-1',
  symbol: 'BTC/USDT',
  accountId: 'acc-1',
  tickSize: '0.01',
  stepSize: '0.00001',
  minQuantity: '0.00001',
  maxQuantity: null,
  minNotional: '5',
};

describe('marketRefusal', () => {
  it('says what is wrong with the definition, under the gateway code', () => {
    expect(marketRefusal(BOT, { code: 'NO_VENUE_CONFIGURED', message: 'no exchange account is configured for exchange sim-1' }, 3000)).toMatchObject({
      code: 'NO_VENUE_CONFIGURED',
      message: 'bot not created: no exchange account for exchange "sim-1"',
      details: { exchangeId: 'sim-1', symbol: 'BTC/XYZ' },
    });
    expect(marketRefusal(BOT, { code: 'UNKNOWN_SYMBOL', message: 'BTC/XYZ is not listed on exchange sim-1' }, 3000)).toMatchObject({
      code: 'UNKNOWN_SYMBOL',
      message: 'bot not created: BTC/XYZ is not listed on exchange "sim-1"',
    });
    expect(marketRefusal(BOT, { code: 'INVALID_REQUEST', message: 'exchange sim-1 has several accounts (a, b)' }, 3000)).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'bot not created: exchange sim-1 has several accounts (a, b)',
    });
  });

  it('refuses UNAVAILABLE, saying why, when nobody could tell (venue away, no gateway, no answer in time)', () => {
    expect(marketRefusal(BOT, { code: 'EXCHANGE_UNAVAILABLE', message: 'the markets of exchange sim-1 could not be loaded' }, 3000)).toMatchObject({
      code: 'EXCHANGE_UNAVAILABLE',
      message: 'bot not created: whether exchange "sim-1" has an account and lists BTC/XYZ is unknown: the markets of exchange sim-1 could not be loaded',
    });
    expect(marketRefusal(BOT, { code: 'TIMEOUT', message: 'gateway.qry.market.info got no answer within 3000 ms' }, 3000)).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'bot not created: the exchange gateway did not answer within 3000 ms, so whether exchange "sim-1" has an account and lists BTC/XYZ is unknown',
    });
    expect(marketRefusal(BOT, { code: 'UNAVAILABLE', message: 'no gateway service is answering gateway.qry.market.info' }, 3000)).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^bot not created: the exchange gateway could not be asked \(UNAVAILABLE: no gateway service is answering/),
    });
  });
});

describe('withVenueSteps', () => {
  it("puts the venue's steps over the parameters, so the strategy's own checks judge the definition as it will trade", () => {
    const grid = { lower: '59000', upper: '61000', levels: 5, orderSize: '0.0000001', stepSize: '0.00000001' };
    expect(parseStrategyParameters('grid', grid).ok).toBe(true);
    const fitted = parseStrategyParameters('grid', withVenueSteps(grid, MARKET));
    expect(fitted).toEqual({ ok: false, errors: ['orderSize 0.0000001 is smaller than stepSize 0.00001'] });
    const crowded = parseStrategyParameters('grid', withVenueSteps({ lower: '100', upper: '100.05', levels: 10, orderSize: '1' }, MARKET));
    expect(crowded.ok ? [] : crowded.errors).toEqual([expect.stringContaining('closer than tickSize 0.01')]);
    expect(parseStrategyParameters('grid', withVenueSteps({ lower: '59000', upper: '61000', levels: 5, orderSize: '0.001' }, MARKET)).ok).toBe(true);
  });

  it('keeps the parameters as given when the venue gives no steps', () => {
    const params = { quoteAmount: '50', intervalMinutes: 60, stepSize: '0.1' };
    expect(withVenueSteps(params, { ...MARKET, tickSize: null, stepSize: null })).toEqual(params);
    expect(describeMarket({ ...MARKET, tickSize: null, stepSize: null })).toBe('BTC/USDT on exchange "sim-1"');
    expect(describeMarket(MARKET)).toBe('BTC/USDT on exchange "sim-1" (its tickSize 0.01, stepSize 0.00001)');
  });
});
