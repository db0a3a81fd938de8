import { describe, expect, it } from '@jest/globals';
import { runCli } from '../cli.js';
import { parseArgs } from '../args.js';
import { limitChanges, riskLimitsSet } from './risk-limits.js';

/** A port nothing listens on: a command that reached for the API would exit 3, not 2. */
const CLOSED_API = { GARDE_API_URL: 'http://127.0.0.1:9', GARDE_TOKEN: 't' };

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env: CLOSED_API, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('bin/console risk:limits:* usage errors (exit 2, nothing sent)', () => {
  it.each([
    [['risk:limits:set', '--max-order-notional=1000', '--reason=why'], 'name the scope'],
    [['risk:limits:set', '--scope=global', '--max-order-notional=1000', '--reason=why'], 'invalid scope "global"'],
    [['risk:limits:set', '--scope=instrument:binance:btcusdt', '--max-order-notional=1', '--reason=why'], 'invalid scope'],
    [['risk:limits:set', '--scope=firm', '--reason=why'], 'name at least one limit'],
    [['risk:limits:set', '--scope=firm', '--max-order-notional=1000'], 'a reason is required'],
    [['risk:limits:set', '--scope=firm', '--max-order-notional=-5', '--reason=why'], '--max-order-notional=-5: expected a positive decimal'],
    [['risk:limits:set', '--scope=firm', '--max-order-notional=1e6', '--reason=why'], '--max-order-notional=1e6'],
    [['risk:limits:set', '--scope=firm', '--max-messages-per-second=2.5', '--reason=why'], 'expected a positive whole number'],
    [['risk:limits:set', '--scope=firm', '--max-reference-age-ms=0', '--reason=why'], '--max-reference-age-ms=0'],
    [['risk:limits:set', '--scope=firm', '--max-notional=5', '--reason=why'], 'unknown option --max-notional'],
    [['risk:limits:show', '--history'], '--history needs a scope'],
    [['risk:limits:show', '--scope=venue:x'], 'invalid scope'],
  ])('%j → %s', async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
  });

  it('names every bad value at once', async () => {
    const result = await run('risk:limits:set', '--scope=bot:b-1', '--max-order-notional=abc', '--price-collar-percent=0', '--reason=why');
    expect(result.code).toBe(2);
    expect(result.err).toContain('--max-order-notional=abc');
    expect(result.err).toContain('--price-collar-percent=0');
  });

  it('reads decimals as strings, whole numbers as numbers, and none as a removal', () => {
    const args = parseArgs(
      ['--scope=firm', '--max-order-notional=25000.5', '--max-messages-per-second=20', '--max-order-quantity=none', '--reason=r'],
      riskLimitsSet,
    );
    expect(limitChanges(args)).toEqual({ maxOrderNotional: '25000.5', maxMessagesPerSecond: 20, maxOrderQuantity: null });
  });
});
