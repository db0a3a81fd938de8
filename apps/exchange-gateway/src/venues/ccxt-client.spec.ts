import { describe, expect, it } from '@jest/globals';
import ccxt from 'ccxt';
import { createCcxtClient } from './ccxt-client.js';

const access = { ccxtId: 'binance', urlOverride: 'http://127.0.0.1:9', sandbox: false, apiKey: 'key-1', secret: 'a-secret-of-some-length', timeoutMs: 1000 };

/** A signed request as the client builds it, at a fixed time. */
function signedOrder(exchange: InstanceType<typeof ccxt.binance> | ReturnType<typeof createCcxtClient>) {
  exchange.milliseconds = () => 1_764_000_000_000;
  return exchange.sign('order', 'private', 'POST', {
    symbol: 'BTCUSDT',
    side: 'BUY',
    type: 'LIMIT',
    quantity: '0.001',
    price: '55000.5',
    newClientOrderId: 'bot-1-7',
  });
}

describe('createCcxtClient', () => {
  it("signs a private call exactly as ccxt's own HMAC does (node's native one replaces it)", () => {
    const ours = createCcxtClient(access);
    const plain = new ccxt.binance({ apiKey: access.apiKey, secret: access.secret });
    expect(ours.hmac).not.toBe(plain.hmac);
    const signed = signedOrder(ours);
    expect(String(signed.body)).toMatch(/&signature=[0-9a-f]{64}$/);
    expect(signed.body).toBe(signedOrder(plain).body);
  });

  it("keeps ccxt's own HMAC for an encoding node's digest does not give", () => {
    const ours = createCcxtClient(access);
    const plain = new ccxt.binance({});
    // ccxt's sha256, as its exchange classes pass it: found through a signed call's hash argument.
    let sha256: Parameters<typeof plain.hmac>[2] | undefined;
    const spy = ours.hmac;
    ours.hmac = ((request, secret, hash, digest): unknown => {
      sha256 = hash;
      return spy(request, secret, hash, digest) as unknown;
    }) as typeof ours.hmac;
    signedOrder(ours);
    expect(sha256).toBeDefined();
    ours.hmac = spy;
    for (const digest of ['hex', 'base64'] as const) expect(ours.hmac('payload', 'k', sha256!, digest)).toEqual(plain.hmac('payload', 'k', sha256!, digest));
    expect(ours.hmac('payload', 'k', sha256!, 'binary')).toEqual(plain.hmac('payload', 'k', sha256!, 'binary'));
  });
});
