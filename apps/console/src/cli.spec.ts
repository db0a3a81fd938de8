import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseArgs, UsageError } from './args.js';
import { runCli } from './cli.js';

/** A port nothing listens on: a command that reached for the API would exit 3, not 2. */
const CLOSED_API = { GARDE_API_URL: 'http://127.0.0.1:9', GARDE_TOKEN: 't' };

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env: CLOSED_API, out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('parseArgs', () => {
  const spec = { values: ['reason', 'exchange'], flags: ['global', 'json'] };

  it('reads --key=value, --key value, flags and positionals', () => {
    const args = parseArgs(['b-1', '--reason=fat finger', '--exchange', 'binance', '--global'], spec);
    expect(args.positionals).toEqual(['b-1']);
    expect(Object.fromEntries(args.options)).toEqual({ reason: 'fat finger', exchange: 'binance', global: true });
  });

  it('refuses unknown options, a missing value, a value on a flag, and repeats', () => {
    expect(() => parseArgs(['--resaon=x'], spec)).toThrow(new UsageError('unknown option --resaon'));
    expect(() => parseArgs(['--reason'], spec)).toThrow('--reason needs a value');
    expect(() => parseArgs(['--reason', '--global'], spec)).toThrow('--reason needs a value');
    expect(() => parseArgs(['--global=yes'], spec)).toThrow('--global takes no value');
    expect(() => parseArgs(['--reason=a', '--reason=b'], spec)).toThrow('--reason given twice');
  });
});

describe('bin/console usage errors (exit 2, nothing sent to the API)', () => {
  it.each([
    [['risk:kill-switch:activate', '--global'], 'a reason is required'],
    [['risk:kill-switch:activate', '--reason=why'], 'name exactly one scope'],
    [['risk:kill-switch:activate', '--global', '--bot=b-1', '--reason=why'], 'name exactly one scope'],
    [['risk:kill-switch:deactivate', '--exchange=binance', '--reason='], 'a reason is required'],
    [['bot:pause', '--reason=why'], 'name one bot'],
    [['bot:pause', 'b-1'], 'a reason is required'],
    [['bot:resume', 'b-1', '--reason= '], 'a reason is required'],
    [['bot:stop', '--reason=why', '--cancel-orders'], 'name one bot'],
    [['bot:stop', 'b-1', '--cancel-orders'], 'a reason is required'],
    [['bot:stop', 'b-1', '--reason=why', '--cancel-orders=yes'], '--cancel-orders takes no value'],
    [['bot:status'], 'name one bot'],
    [['bot:status', '--all', 'b-1'], 'either --all or one bot id'],
    [['bot:create', '--name=x'], 'missing --strategy, --exchange, --symbol'],
    [['bot:create', '--name=x', '--strategy=grid', '--exchange=e', '--symbol=A/B', '--params=[1]'], 'the parameters must be an object'],
    [['audit:verify', '--from=zero'], '--from must be a sequence number'],
    [['no:such-command'], 'unknown command'],
  ])('%j → %s', async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
  });

  it('prints errors as JSON with --json', async () => {
    const result = await run('risk:kill-switch:activate', '--global', '--json');
    expect(JSON.parse(result.err)).toEqual({ error: { code: 'USAGE', message: 'a reason is required: --reason="what happened"' } });
  });

  it('exits 3 when the API is unreachable', async () => {
    const result = await run('risk:kill-switch:status');
    expect(result.code).toBe(3);
    expect(result.err).toContain('cannot reach the Garde API at http://127.0.0.1:9');
  });

  it('bot:start needs no reason: it reaches for the API (exit 3 here, where nothing listens)', async () => {
    expect((await run('bot:start', 'b-1')).code).toBe(3);
    expect((await run('bot:start', '--help')).out).toContain('bin/console bot:start <bot-id> [--reason="…"] [--json]');
  });

  it('bot:create --file reads a YAML or JSON bot, names what is wrong in it, and lets options win over it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'garde-bot-file-'));
    const file = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return `--file=${path.join(dir, name)}`;
    };
    const yaml = file(
      'grid.yaml',
      'name: Grid BTC\nstrategy: grid\nexchange: binance\nsymbol: BTC/USDT\nparameters:\n  lower: "60000"\n  upper: "70000"\n  levels: 10\n  orderSize: "0.001"\n',
    );
    // Complete: it reaches for the API (exit 3 here, where nothing listens).
    expect((await run('bot:create', yaml)).code).toBe(3);
    expect((await run('bot:create', file('dca.json', '{"name":"DCA","strategy":"dca","exchange":"kraken","symbol":"ETH/USDT","parameters":{}}'))).code).toBe(3);
    const cases: Array<[string[], string]> = [
      [['--file=/nowhere/bot.yaml'], 'cannot read --file=/nowhere/bot.yaml: ENOENT'],
      [[file('bad.yaml', 'name: [unclosed\n')], 'is not valid YAML'],
      [[file('bad.json', '{"name": ')], 'is not valid JSON'],
      [
        [file('typo.yaml', 'name: x\nstrategy: grid\nexchange: binance\nsymbol: BTC/USDT\nparams: {}\n')],
        'unknown key(s) params (expected id, name, strategy, exchange, symbol, parameters)',
      ],
      [[file('short.yaml', 'name: x\nstrategy: grid\n')], 'missing --exchange, --symbol (neither given nor in'],
      [[file('list.yaml', '- a\n- b\n')], 'must hold one bot'],
      [[file('params.yaml', 'name: x\nstrategy: grid\nexchange: b\nsymbol: A/B\nparameters: [1]\n')], 'the parameters must be an object'],
    ];
    for (const [argv, message] of cases) {
      const result = await run('bot:create', ...argv);
      expect([result.code, result.err]).toEqual([2, expect.stringContaining(message)]);
    }
    // An option fills what the file leaves out.
    expect((await run('bot:create', file('partial.yaml', 'name: x\nstrategy: grid\nexchange: binance\n'), '--symbol=BTC/USDT')).code).toBe(3);
  });

  it('shows help for every command', async () => {
    const result = await run('help');
    expect(result.code).toBe(0);
    for (const name of [
      'risk:kill-switch:activate',
      'risk:kill-switch:deactivate',
      'risk:kill-switch:status',
      'bot:create',
      'bot:status',
      'bot:pause',
      'bot:resume',
      'audit:verify',
    ]) {
      expect(result.out).toContain(name);
      expect((await run(name, '--help')).out).toContain(`bin/console ${name}`);
    }
  });
});
