import { z } from 'zod';
import {
  ActivateKillSwitch,
  AddExchangeAccount,
  ExchangeAccount,
  ExchangeAccountList,
  AuditChainVerdict,
  AuditExportManifest,
  AuditPurgeResult,
  AuditRecord,
  AuditSignerQry,
  PurgeAuditTrail,
  SealAuditExport,
  Bot,
  BotList,
  BotStatus,
  BotStartCommand,
  BotStopCommand,
  BotStopResult,
  CreateBot,
  DeactivateKillSwitch,
  ErrorBody,
  KillSwitchChange,
  KillSwitchStatus,
  Order,
  VenueHealthList,
  RateLimitStatus,
  RateLimitStatusList,
  TickerView,
  Reason,
  RiskLimitsChange,
  RiskLimitsList,
  ExposureReport,
  SetRiskLimits,
  SubmitOrder,
  ApplyReconciliation,
  DiscrepancyList,
  ReconciliationApplied,
  ReconciliationReport,
  type Role,
} from '@garde/contracts';

interface Route {
  method: 'get' | 'post';
  path: string;
  role: Role | null;
  summary: string;
  body?: z.ZodType;
  query?: Record<string, string>;
  result?: z.ZodType;
  /** A body that is not JSON: its media types (the result is then text). */
  produces?: string[];
  /** Success status (200 unless said). */
  status?: number;
}

/** Every route of the operators' API. A test checks that each one is served. */
export const API_ROUTES: Route[] = [
  {
    method: 'get',
    path: '/api/v1/kill-switch',
    role: 'viewer',
    summary: 'State of every kill-switch scope, global first',
    query: { scope: 'only this scope' },
    result: KillSwitchStatus,
  },
  {
    method: 'post',
    path: '/api/v1/kill-switch/activate',
    role: 'operator',
    summary: 'Stop trading in a scope (HALTED, or REDUCING); this gateway refuses its orders from the moment it accepts the command',
    body: ActivateKillSwitch,
    result: KillSwitchChange,
  },
  {
    method: 'post',
    path: '/api/v1/kill-switch/deactivate',
    role: 'risk',
    summary: 'Put a scope back to ACTIVE (bots stay HALTED until resumed)',
    body: DeactivateKillSwitch,
    result: KillSwitchChange,
  },
  {
    method: 'get',
    path: '/api/v1/bots',
    role: 'viewer',
    summary: 'List bots, each with its position, PnL, open orders and last error',
    query: { state: 'only bots in this state', exchangeId: 'only bots on this exchange' },
    result: BotList,
  },
  {
    method: 'post',
    path: '/api/v1/bots',
    role: 'operator',
    summary:
      "Create a bot; refused, and nothing created, when its strategy parameters are wrong or do not fit the venue's steps (INVALID_REQUEST), its exchange has no account (NO_VENUE_CONFIGURED), its venue does not list its symbol (UNKNOWN_SYMBOL) or cannot be asked (EXCHANGE_UNAVAILABLE, UNAVAILABLE)",
    body: CreateBot,
    result: Bot,
    status: 201,
  },
  { method: 'get', path: '/api/v1/bots/{id}', role: 'viewer', summary: 'One bot with its position, PnL, open orders and last error', result: BotStatus },
  {
    method: 'post',
    path: '/api/v1/bots/{id}/start',
    role: 'operator',
    summary: 'Start a CREATED bot (the reason may be left out)',
    body: BotStartCommand.omit({ botId: true }),
    result: Bot,
  },
  ...(['pause', 'resume'] as const).map((action): Route => ({
    method: 'post',
    path: `/api/v1/bots/{id}/${action}`,
    role: 'operator',
    summary: `${action} a bot`,
    body: z.object({ reason: Reason }),
    result: Bot,
  })),
  {
    method: 'post',
    path: '/api/v1/bots/{id}/stop',
    role: 'operator',
    summary:
      'Stop a bot for good. Its open orders stay at the venue unless cancelOrders is true: then, once no send of the bot is in flight, the gateway cancels them all and confirms with the venue (asked again of a STOPPED bot, only the cancellation runs again). Not flat = an error whose details say the bot is STOPPED and which orders are still open.',
    body: BotStopCommand.omit({ botId: true }),
    result: BotStopResult,
  },
  {
    method: 'post',
    path: '/api/v1/orders',
    role: 'operator',
    summary: 'Submit an order: kill-switch gate, pre-trade check, sent once to the venue (the same clientOrderId never makes two orders)',
    body: SubmitOrder,
    result: Order,
    status: 201,
  },
  { method: 'get', path: '/api/v1/orders/{id}', role: 'viewer', summary: 'One order by its client order id', result: Order },
  {
    method: 'post',
    path: '/api/v1/orders/{id}/resolve',
    role: 'operator',
    summary: 'Ask the venue what a (stuck) order is and record it; never re-sends it (LOST if the venue has none)',
    result: Order,
  },
  {
    method: 'get',
    path: '/api/v1/stuck-orders',
    role: 'viewer',
    summary: 'Orders not final with no venue report for longer than STUCK_AFTER_MS (RB-005)',
    query: { exchange: 'only this exchange' },
    result: z.object({ stuckAfterMs: z.number(), orders: z.array(Order) }),
  },
  {
    method: 'post',
    path: '/api/v1/orders/{id}/cancel',
    role: 'operator',
    summary: 'Cancel one order (through PENDING_CANCEL; never gated by the kill switch)',
    body: z.object({ reason: Reason }),
    result: Order,
  },
  {
    method: 'get',
    path: '/api/v1/audit/verify',
    role: 'viewer',
    summary: 'Verify the audit hash chain',
    query: { from: 'first sequence', to: 'last sequence' },
    result: AuditChainVerdict,
  },
  {
    method: 'get',
    path: '/api/v1/audit/events',
    role: 'viewer',
    summary: 'Audit events, most recent first, filtered, paged by sequence',
    query: {
      type: 'event type',
      actorId: 'actor id',
      correlationId: 'correlation id',
      order: "a client order id: the order's whole story (every event of its correlation ids)",
      bot: "a bot id: the bot's own events and its orders'",
      level: 'comma-separated levels: info, warning, error, critical',
      service: 'producer, e.g. exchange-gateway',
      since: 'ISO-8601 time: events at or after it',
      before: 'sequence: events before it (the next page)',
      limit: '1-1000, default 100',
    },
    result: z.object({ events: z.array(AuditRecord) }),
  },
  {
    method: 'get',
    path: '/api/v1/audit/signer',
    role: 'viewer',
    summary: "The audit-service's Ed25519 public key (and older trusted keys): pin it to verify exports offline",
    result: AuditSignerQry.result,
  },
  {
    method: 'post',
    path: '/api/v1/audit/exports',
    role: 'viewer',
    summary: 'Seal an export (RB-013): the audit-service verifies the period and signs its manifest (count, sequences, chain head, file SHA-256)',
    body: SealAuditExport,
    result: AuditExportManifest,
  },
  {
    method: 'get',
    path: '/api/v1/audit/exports/file',
    role: 'viewer',
    summary:
      'The export file of a sealed manifest (RB-013), streamed: whole records in order, the exact bytes whose SHA-256 the manifest signs; a failure midway cuts the response short',
    query: { format: "jsonl or csv (the manifest's)", from: "the manifest's firstSequence", to: "the manifest's lastSequence" },
    produces: ['application/x-ndjson', 'text/csv'],
  },
  {
    method: 'post',
    path: '/api/v1/audit/purge',
    role: 'admin',
    summary: 'Delete audit rows older than the retention, from the start of the chain through a signed checkpoint',
    body: PurgeAuditTrail,
    result: AuditPurgeResult,
  },
  { method: 'get', path: '/api/v1/exchange-accounts', role: 'viewer', summary: 'Exchange accounts (never their secrets)', result: ExchangeAccountList },
  {
    method: 'post',
    path: '/api/v1/exchange-accounts',
    role: 'admin',
    summary: 'Add an exchange account: credentials checked with the venue, then sealed (AES-256-GCM)',
    body: AddExchangeAccount,
    result: ExchangeAccount,
    status: 201,
  },
  {
    method: 'post',
    path: '/api/v1/exchange-accounts/{id}/remove',
    role: 'admin',
    summary: 'Remove an exchange account and its credentials',
    body: z.object({ reason: Reason }),
    result: ExchangeAccount,
  },
  {
    method: 'get',
    path: '/api/v1/venues/health',
    role: 'viewer',
    summary: 'Venue health per exchange account (CONNECTED / DEGRADED / DISCONNECTED), as this gateway sees it',
    query: { exchange: 'only this exchange' },
    result: VenueHealthList,
  },
  {
    method: 'post',
    path: '/api/v1/exchange-accounts/{id}/rate-limit/resume',
    role: 'risk',
    summary: 'Lift an account halted by a venue ban (HTTP 418) once the ban has ended (RB-004)',
    body: z.object({ reason: Reason }),
    result: RateLimitStatus,
  },
  {
    method: 'get',
    path: '/api/v1/venues/rate-limits',
    role: 'viewer',
    summary: "Each exchange account's rate-limit budget against the venue's limits, and its state (OK / PAUSED / HALTED)",
    query: { exchange: 'only this exchange' },
    result: RateLimitStatusList,
  },
  {
    method: 'get',
    path: '/api/v1/market/tickers',
    role: 'viewer',
    summary: 'The latest ticker of each symbol in use, with its age; a stale one is marked stale',
    query: { exchange: 'only this exchange', symbol: 'only this symbol (BASE/QUOTE)' },
    result: z.object({ tickers: z.array(TickerView) }),
  },
  {
    method: 'get',
    path: '/api/v1/risk/limits',
    role: 'viewer',
    summary: "The risk limits in force per scope (firm first), each with its version, actor, reason and time; a scope's every version with history=true",
    query: {
      scope: 'only this scope: firm, exchange:<id>, bot:<id> or instrument:<exchange>:<BASE/QUOTE>',
      history: 'true: also every earlier version of the scope',
    },
    result: RiskLimitsList,
  },
  {
    method: 'post',
    path: '/api/v1/risk/limits',
    role: 'risk',
    summary: "Change a scope's limits (a new version; limits not named keep their value, null removes one), applied to the next order without restart",
    body: SetRiskLimits,
    result: RiskLimitsChange,
  },
  {
    method: 'get',
    path: '/api/v1/risk/exposure',
    role: 'viewer',
    summary:
      'Positions (from the fills, average cost, marked to the latest price), open-order notional, realized and unrealized PnL, fees, drawdown from the peak and loss of the day, each against its limit with its utilization in %, per bot and exchange, and the firm total',
    query: {
      exchange: 'only the positions and open orders on this exchange (the firm total stays everyone’s)',
      bot: 'only this bot’s positions and open orders (the firm total stays everyone’s)',
    },
    result: ExposureReport,
  },
  {
    method: 'get',
    path: '/api/v1/portfolio/discrepancies',
    role: 'viewer',
    summary: 'Reconciliation discrepancies (RB-003): the open ones, most recent first; all=true for the cleared ones too (who cleared them and why)',
    query: { all: 'true: also the cleared ones', exchange: 'only the accounts of this exchange' },
    result: DiscrepancyList,
  },
  {
    method: 'get',
    path: '/api/v1/portfolio/reconciliation',
    role: 'viewer',
    summary:
      "Reconcile now (RB-012) and show the differences: each account's venue balances against the ledger per asset (with its tolerance), and the open orders only one side knows. Changes nothing",
    query: { exchange: 'only the accounts of this exchange' },
    result: ReconciliationReport,
  },
  {
    method: 'post',
    path: '/api/v1/portfolio/reconciliation',
    role: 'risk',
    summary:
      'Manual reconciliation (RB-012): adjusting ledger entries so that the ledger matches the venue, with the actor and the reason; clears the discrepancies (risk.evt.ledger.adjusted). Bots halted for them stay HALTED until resumed. Refused UNAVAILABLE while fills are still being booked',
    body: ApplyReconciliation,
    result: ReconciliationApplied,
  },
  { method: 'get', path: '/api/v1/whoami', role: 'viewer', summary: "The token's actor and role" },
  { method: 'get', path: '/api/v1/openapi.json', role: null, summary: 'This document' },
];

const schema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' });

export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of API_ROUTES) {
    const errors = { description: 'Refused or failed', content: { 'application/json': { schema: schema(z.object({ error: ErrorBody }), 'output') } } };
    paths[r.path] ??= {};
    paths[r.path]![r.method] = {
      summary: r.summary,
      ...(r.role ? { security: [{ bearer: [] }], 'x-required-role': r.role } : {}),
      parameters: [
        ...(r.path.includes('{id}') ? [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] : []),
        ...Object.entries(r.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } })),
      ],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(r.body, 'input') } } } } : {}),
      responses: {
        [String(r.status ?? 200)]: {
          description: 'OK',
          ...(r.result ? { content: { 'application/json': { schema: schema(r.result, 'output') } } } : {}),
          ...(r.produces ? { content: Object.fromEntries(r.produces.map((type) => [type, { schema: { type: 'string' } }])) } : {}),
        },
        default: errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Garde operators API',
      version: '1',
      description: 'Bearer tokens carry a role: viewer < operator < risk < admin. Errors are { error: { code, message, details? } } with a closed code.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
