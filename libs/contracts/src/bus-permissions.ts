import type { RequestDef } from './catalog.js';
import { BotListQry } from './bots.js';
import { MarketInfoQry, MarketSubscribeCmd, TickersQry } from './market-data.js';
import { BalancesQry, BotLiveOrderCountsQry, BotOrdersQry, OpenOrdersQry, OrderCancelCmd, OrdersCancelForBotCmd, OrderSubmitCmd } from './orders.js';
import { LiveOrdersQry } from './reconciliation.js';
import type { BusTopology } from './topology.js';

/**
 * Who may do what on the bus: one NATS user per service, with publish and subscribe permissions
 * (DESIGN §3: only risk-service may publish kill-switch subjects or write the bucket). The NATS server
 * enforces them; a service that oversteps gets a permission violation, not a delivery.
 */
export const BUS_SERVICES = ['risk-service', 'bot-service', 'exchange-gateway', 'audit-service'] as const;
export type BusService = (typeof BUS_SERVICES)[number];

type Context = 'risk' | 'bot' | 'gateway' | 'audit';
type Bucket = 'killSwitchBucket' | 'botLeasesBucket' | 'riskLimitsBucket';
type Durable = 'auditConsumer' | 'ledgerConsumer';

interface BusRole {
  /** The subject family it owns: it alone publishes its facts and signals and serves its requests. */
  context: Context;
  /** Requests it sends to other services. */
  requests: readonly RequestDef[];
  /** Operators' edge: every command and query of these contexts (the HTTP API forwards them). */
  edgeFor: readonly Context[];
  /** KV buckets it writes (every service reads and watches all of them). */
  writes: readonly Bucket[];
  /** Durable consumers of the AUDIT stream it alone reads and acknowledges. */
  durables: readonly Durable[];
  /** Filter subjects (without namespace) of ordered consumers it makes on the AUDIT stream. */
  auditReads: readonly string[];
}

const ROLES: Record<BusService, BusRole> = {
  'risk-service': {
    context: 'risk',
    requests: [BalancesQry, OpenOrdersQry, LiveOrdersQry, MarketSubscribeCmd, BotListQry],
    edgeFor: [],
    writes: ['killSwitchBucket', 'riskLimitsBucket'],
    durables: ['ledgerConsumer'],
    auditReads: ['gateway.evt.order.>'],
  },
  'bot-service': {
    context: 'bot',
    requests: [OrderSubmitCmd, OrderCancelCmd, OrdersCancelForBotCmd, BotOrdersQry, BotLiveOrderCountsQry, MarketInfoQry, MarketSubscribeCmd, TickersQry],
    edgeFor: [],
    writes: ['botLeasesBucket'],
    durables: [],
    auditReads: [],
  },
  'exchange-gateway': { context: 'gateway', requests: [], edgeFor: ['risk', 'bot', 'audit'], writes: [], durables: [], auditReads: [] },
  'audit-service': { context: 'audit', requests: [], edgeFor: [], writes: [], durables: ['auditConsumer'], auditReads: [] },
};

const BUCKETS: readonly Bucket[] = ['killSwitchBucket', 'botLeasesBucket', 'riskLimitsBucket'];
const DURABLES: readonly Durable[] = ['auditConsumer', 'ledgerConsumer'];

/** A service's NATS user and the prefix of its reply inboxes (only it may subscribe there). */
export function busIdentity(topology: BusTopology, service: BusService): { user: string; inboxPrefix: string } {
  const user = topology.namespace ? `${topology.namespace}_${service}` : service;
  return { user, inboxPrefix: `_INBOX_${user}` };
}

/** Whether `service` may send this request (the same rule its NATS permissions enforce). */
export function mayRequest(service: BusService, def: RequestDef): boolean {
  const role = ROLES[service];
  const context = def.type.split('.')[0] as Context;
  return context === role.context || role.edgeFor.includes(context) || role.requests.some((r) => r.type === def.type);
}

/** NATS permissions of one service's user, in the server's configuration shape. */
export interface NatsPermissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[] };
  /** Replies to the requests it received (to the requester's inbox, whatever its name). */
  allow_responses: true;
}

export function busPermissions(topology: BusTopology, service: BusService): NatsPermissions {
  const role = ROLES[service];
  const p = topology.namespace ? `${topology.namespace}.` : '';
  const audit = topology.auditStream;
  const streams = [audit, ...BUCKETS.map((b) => `KV_${topology[b]}`)];
  const others = DURABLES.filter((d) => !role.durables.includes(d)).map((d) => topology[d]);
  const publish = [
    `${p}${role.context}.>`,
    ...role.edgeFor.flatMap((c) => [`${p}${c}.cmd.>`, `${p}${c}.qry.>`]),
    ...role.requests.map((r) => topology.subject(r)),
    // JetStream: set-up (create-if-missing, never update, purge or delete), then reads of the buckets.
    '$JS.API.INFO',
    ...streams.flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, `$JS.API.STREAM.CREATE.${s}`]),
    ...BUCKETS.flatMap((b) => {
      const s = `KV_${topology[b]}`;
      return [`$JS.API.DIRECT.GET.${s}.>`, `$JS.API.STREAM.MSG.GET.${s}`, ...consumerApi(s, '*', '>')];
    }),
    ...role.writes.map((b) => `$KV.${topology[b]}.>`),
    ...role.durables.flatMap((d) => [...consumerApi(audit, topology[d], '>'), `$JS.ACK.${audit}.${topology[d]}.>`]),
    ...role.auditReads.flatMap((filter) => consumerApi(audit, '*', `${p}${filter}`)),
  ];
  return {
    publish: {
      allow: publish,
      // Nobody reads, acknowledges or removes another service's durable consumer.
      deny: others.flatMap((name) => consumerApi(audit, name, '>')),
    },
    subscribe: {
      allow: [
        `${busIdentity(topology, service).inboxPrefix}.>`,
        `${p}${role.context}.cmd.>`,
        `${p}${role.context}.qry.>`,
        `${p}*.evt.>`,
        `${p}*.md.>`,
        `${p}*.sig.>`,
        // Every bucket write as it is published (the kill-switch views act on it before the watch).
        ...BUCKETS.map((b) => `$KV.${topology[b]}.>`),
        ...role.durables.map((d) => `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${audit}.${topology[d]}`),
      ],
    },
    allow_responses: true,
  };
}

/** The consumer API subjects for one consumer name (or `*`) of a stream, with `filter` as the create's tail. */
function consumerApi(stream: string, name: string, filter: string): string[] {
  return [
    `$JS.API.CONSUMER.CREATE.${stream}.${name}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${name}.${filter}`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
    `$JS.API.CONSUMER.INFO.${stream}.${name}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`,
    `$JS.API.CONSUMER.DELETE.${stream}.${name}`,
  ];
}

/**
 * The `authorization` block of a nats-server configuration with one user per service, for the
 * namespace of `topology`. `passwords` are the services' `NATS_PASSWORD`s; `extraUsers` adds users
 * with every permission (a test's own observer, an administrator's tool).
 */
export function natsAuthorization(topology: BusTopology, passwords: Record<BusService, string>, extraUsers: Record<string, string> = {}): string {
  const users = [
    ...BUS_SERVICES.map((service) => ({
      user: busIdentity(topology, service).user,
      password: passwords[service],
      permissions: busPermissions(topology, service),
    })),
    ...Object.entries(extraUsers).map(([user, password]) => ({ user, password })),
  ];
  // nats-server reads JSON inside its configuration format; quoted strings keep `$JS…` literal.
  return `authorization ${JSON.stringify({ users }, null, 2)}\n`;
}
