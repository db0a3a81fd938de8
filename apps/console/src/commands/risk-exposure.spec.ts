import { describe, expect, it } from '@jest/globals';
import { ExposureReport } from '@garde/contracts';
import { runCli } from '../cli.js';
import { exposureTables } from './risk-exposure.js';

/** A port nothing listens on: a command that reached for the API would exit 3, not 2. */
const CLOSED_API = { GARDE_API_URL: 'http://127.0.0.1:9', GARDE_TOKEN: 't' };

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env: CLOSED_API, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const none = { value: '0', limit: null, limitScope: null, utilizationPercent: null };

describe('bin/console risk:exposure:report', () => {
  it.each([
    [['risk:exposure:report', '--bot=bad id'], 'invalid --bot="bad id"'],
    [['risk:exposure:report', '--exchange=a:b'], 'invalid --exchange="a:b"'],
    [['risk:exposure:report', 'my-bot'], 'takes no argument'],
    [['risk:exposure:report', '--symbol=BTC/USDT'], 'unknown option --symbol'],
  ])('%j is a usage error (exit 2, nothing sent): %s', async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
  });

  it('exits 3 when the API cannot be reached', async () => {
    expect((await run('risk:exposure:report', '--bot=b-1')).code).toBe(3);
  });

  it('shows each figure against its limit with its utilization, per position, bot and exchange, and the firm total', () => {
    const report = ExposureReport.parse({
      generatedAt: '2025-03-10T09:00:00.000Z',
      exchangeId: null,
      botId: null,
      positions: [
        {
          botId: 'grid-1',
          exchangeId: 'binance',
          symbol: 'BTC/USDT',
          quote: 'USDT',
          quantity: '0.5',
          averageCost: '60000',
          markPrice: '58000',
          markSource: 'market',
          notional: '29000',
          openBuy: '0.1',
          openSell: '0',
          openOrderNotional: '5800',
          realizedPnl: '12.5',
          unrealizedPnl: '-1000',
          fees: '3.25',
          unpricedFees: { BNB: '0.01' },
          equity: '-990.75',
        },
      ],
      bots: [
        {
          botId: 'grid-1',
          exposure: { value: '34800', limit: '50000', limitScope: 'bot:grid-1', utilizationPercent: '69.60' },
          openOrderNotional: '5800',
          realizedPnl: '12.5',
          unrealizedPnl: '-1000',
          fees: '3.25',
          unpricedFees: { BNB: '0.01' },
          equity: '-990.75',
          peak: '250',
          drawdown: { value: '1240.75', limit: '1000', limitScope: 'bot:grid-1', utilizationPercent: '124.08' },
          dailyPnl: '-990.75',
          dailyLoss: { value: '990.75', limit: null, limitScope: null, utilizationPercent: null },
          fillsLastMinute: { value: '2', limit: '30', limitScope: 'firm', utilizationPercent: '6.67' },
          deniedLastMinute: { value: '0', limit: null, limitScope: null, utilizationPercent: null },
          currency: 'USDT',
          killSwitch: 'HALTED',
        },
      ],
      exchanges: [
        {
          exchangeId: 'binance',
          exposure: { value: '34800', limit: null, limitScope: null, utilizationPercent: null },
          openOrderNotional: '5800',
          realizedPnl: '12.5',
          unrealizedPnl: '-1000',
          fees: '3.25',
          unpricedFees: {},
        },
      ],
      firm: {
        exposure: { value: '34800', limit: '250000', limitScope: 'firm', utilizationPercent: '13.92' },
        openOrderNotional: '5800',
        realizedPnl: '12.5',
        unrealizedPnl: '-1000',
        fees: '3.25',
        unpricedFees: { BNB: '0.01' },
        equity: '-990.75',
        peak: '250',
        drawdown: { ...none, value: '1240.75' },
        dailyPnl: '-990.75',
        dailyLoss: { ...none, value: '990.75' },
        currency: 'USDT',
        killSwitch: 'ACTIVE',
      },
    });
    const text = exposureTables(report);
    expect(text).toContain('amounts in USDT');
    const botLine = text.split('\n').find((l) => l.startsWith('grid-1') && l.includes('HALTED'));
    expect(botLine).toContain('34,800.00 / 50,000 (69.60 %)');
    expect(botLine).toContain('1,240.75 / 1,000 (124.08 %)');
    expect(botLine).toContain('2 / 30 (6.67 %)');
    expect(text).toMatch(/^grid-1 +binance +BTC\/USDT +0\.5 +60,000\.00 +58000 +29,000\.00 +0\.1 +0 +5,800\.00 +12\.50 +-1,000\.00 +3\.25 +-990\.75$/m);
    expect(text).toContain('exposure        34,800.00 / 250,000 (13.92 %)');
    expect(text).toContain('drawdown        1,240.75');
    expect(text).toContain('fees not valued (no price for their currency, not in the equity): 0.01 BNB');
  });

  it('says so when there is nothing for the filter', () => {
    const empty = {
      exposure: { ...none },
      openOrderNotional: '0',
      realizedPnl: '0',
      unrealizedPnl: '0',
      fees: '0',
      unpricedFees: {},
      equity: '0',
      peak: '0',
      drawdown: { ...none },
      dailyPnl: '0',
      dailyLoss: { ...none },
      currency: null,
      killSwitch: 'ACTIVE' as const,
    };
    const text = exposureTables({
      generatedAt: '2025-03-10T09:00:00.000Z',
      exchangeId: null,
      botId: 'ghost',
      positions: [],
      bots: [],
      exchanges: [],
      firm: empty,
    });
    expect(text).toContain('No position, open order or fill for bot ghost.');
    expect(text).toContain("amounts in each position's quote currency");
  });
});
