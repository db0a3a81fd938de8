import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BalancesQry, OpenOrdersQry, busTopology } from '@garde/contracts';
import { startNatsServer, type PrivateNatsServer } from '@garde/testing';
import { JsonLogger, MessageBus } from '../src/index.js';

/** A server whose messages may be 8 KB at most (NATS's default is 1 MB): the limit is reached with little data. */
const MAX_PAYLOAD = 8192;

describe('MessageBus answers on a server with a payload limit', () => {
  let server: PrivateNatsServer;
  const connections: NatsConnection[] = [];
  let caller: MessageBus;

  beforeAll(async () => {
    server = await startNatsServer(`max_payload: ${MAX_PAYLOAD}\n`);
    const open = async (name: string) => {
      const nc = await connect({ servers: server.url, name });
      connections.push(nc);
      return new MessageBus(nc, busTopology('bus_limit'), name, new JsonLogger(name, 'fatal').child('bus'));
    };
    const service = await open('exchange-gateway/test');
    caller = await open('risk-service/test');
    // An account with many open orders: its answer is over the limit. Balances answer small.
    const order = (i: number) => ({
      venueOrderId: String(i),
      clientOrderId: `bot-1-${i}`,
      symbol: 'BTC/USDT',
      side: 'buy',
      price: '30000.00',
      quantity: '0.001',
      filled: '0',
    });
    service.serve(OpenOrdersQry, 'q', () =>
      Promise.resolve({
        accounts: [{ accountId: 'acc-1', exchangeId: 'sim', orders: Array.from({ length: 500 }, (_, i) => order(i)), at: new Date().toISOString() }],
      }),
    );
    service.serve(BalancesQry, 'q', () => Promise.resolve({ accounts: [] }));
    await Promise.all(connections.map((nc) => nc.flush()));
  });

  afterAll(async () => {
    for (const nc of connections) await nc.close();
    await server?.stop();
  });

  it('an answer over the limit becomes an error that says so, and the service keeps answering', async () => {
    const tooLarge = await caller.request(OpenOrdersQry, {}, {}, 5000);
    expect(tooLarge).toEqual({
      ok: false,
      error: {
        code: 'INTERNAL',
        message: expect.stringMatching(
          new RegExp(
            `^the answer to gateway\\.qry\\.account\\.open-orders is \\d+ bytes, over the bus's limit of ${MAX_PAYLOAD} bytes \\(NATS max_payload\\)$`,
          ),
        ),
      },
    });
    expect(await caller.request(BalancesQry, {}, {}, 5000)).toEqual({ ok: true, result: { accounts: [] } });
  });
});
