import { startSimulator, type RunningSimulator, type VenueConfigInput } from '@garde/exchange-simulator';
import type { RunningService } from '@garde/platform';
import { createSandbox, type TestSandbox } from '@garde/testing';
import { startRiskService } from '../../risk-service/src/app.js';
import { startExchangeGateway } from '../src/app.js';
import { TEST_API_TOKENS, apiClient } from './api-client.js';

/**
 * Sets a simulated venue's faults through its control URL (POST merges them; `null` clears them all).
 * See apps/exchange-simulator/src/faults/fault-settings.ts.
 */
export function setFaults(controlUrl: string, faults: Record<string, unknown> | null): Promise<Response> {
  return fetch(`${controlUrl}/faults`, {
    method: faults ? 'POST' : 'DELETE',
    headers: { 'content-type': 'application/json' },
    ...(faults ? { body: JSON.stringify(faults) } : {}),
  });
}

export interface TradingStack {
  sandbox: TestSandbox;
  sim: RunningSimulator;
  risk: RunningService;
  gateway: RunningService;
  stop(): Promise<void>;
}

/**
 * What the gateway's venue tests run against: a sandbox, the exchange simulator, risk-service and the
 * gateway (with TEST_TOKENS), and one exchange account per `accounts` entry, added through the API.
 */
export async function startTradingStack(opts: {
  label: string;
  venues: VenueConfigInput[];
  gatewayEnv?: Record<string, string>;
  accounts: Array<{ id: string; exchangeId: string; venue: string; apiKey: string; secret: string }>;
}): Promise<TradingStack> {
  const sandbox = await createSandbox(opts.label);
  const sim = await startSimulator({ venues: opts.venues });
  const risk = await startRiskService(sandbox.env());
  const gateway = await startExchangeGateway(sandbox.env({ GARDE_API_TOKENS: TEST_API_TOKENS, ...opts.gatewayEnv }));
  const api = apiClient(() => gateway.url);
  for (const a of opts.accounts) {
    const added = await api('admin', 'POST', '/api/v1/exchange-accounts', {
      id: a.id,
      exchangeId: a.exchangeId,
      ccxtId: 'binance',
      urlOverride: sim.venue(a.venue).url,
      apiKey: a.apiKey,
      secret: a.secret,
    });
    if (added.status !== 201) throw new Error(`could not add account ${a.id}: ${JSON.stringify(added.body)}`);
  }
  return {
    sandbox,
    sim,
    risk,
    gateway,
    stop: async () => {
      await gateway.close();
      await risk.close();
      await sim.stop();
      await sandbox.dispose();
    },
  };
}
