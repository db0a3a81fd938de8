import { z } from 'zod';
import { SCOPE_ID_PATTERN } from '@garde/domain';
import { defineEvent } from './catalog.js';
import { ExchangeId } from './bots.js';
import { Reason } from './kill-switch.js';

/** An exchange account as the API shows it: never the secret, only the end of the API key. */
export const ExchangeAccount = z.object({
  /** Unique id, used by orders (`accountId`). */
  id: z.string(),
  /** The venue this account trades on: the `exchange:<id>` kill-switch scope and the bots' exchangeId. */
  exchangeId: ExchangeId,
  /** ccxt's exchange class (`binance`, …). */
  ccxtId: z.string(),
  /** Base URL replacing the host of every ccxt API URL (the exchange simulator, a proxy); null = the venue's own. */
  urlOverride: z.string().nullable(),
  /** ccxt sandbox (testnet) mode. */
  sandbox: z.boolean(),
  /** The last 4 characters of the API key, to tell keys apart. */
  apiKeyHint: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
  /** The actor who added it. */
  createdBy: z.string(),
});
export type ExchangeAccount = z.infer<typeof ExchangeAccount>;

export const AddExchangeAccount = z.object({
  id: z.string().regex(SCOPE_ID_PATTERN, 'expected 1-64 letters, digits, "_", "-" or "."'),
  exchangeId: ExchangeId,
  ccxtId: z.string().regex(/^[a-z0-9]{2,32}$/, 'expected a ccxt exchange id such as binance'),
  urlOverride: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .nullable()
    .default(null),
  sandbox: z.boolean().default(false),
  /** The venue API key (stored encrypted). */
  apiKey: z.string().min(4).max(512),
  /** The venue API secret (stored encrypted, never shown again). */
  secret: z.string().min(4).max(4096),
  /** Check the credentials with the venue before storing them (default true). */
  check: z.boolean().default(true),
});
export type AddExchangeAccount = z.infer<typeof AddExchangeAccount>;

export const RemoveExchangeAccount = z.object({ id: z.string().min(1), reason: Reason });

export const ExchangeAccountList = z.object({ accounts: z.array(ExchangeAccount) });

export const ExchangeAccountAddedEvt = defineEvent({ type: 'gateway.evt.account.added', payload: ExchangeAccount, level: 'warning' });
export const ExchangeAccountRemovedEvt = defineEvent({
  type: 'gateway.evt.account.removed',
  payload: z.object({ account: ExchangeAccount, reason: z.string() }),
  level: 'warning',
});
