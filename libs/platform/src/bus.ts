import { randomUUID } from 'node:crypto';
import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import {
  Envelope,
  describeIssues,
  replySchema,
  type Actor,
  type BusTopology,
  type EventDef,
  type MarketDataDef,
  type SignalDef,
  type Reply,
  type RequestDef,
  type TypedEnvelope,
} from '@garde/contracts';
import { ServiceError, unreachableCause } from './errors.js';
import { safeJson } from './json.js';
import { disconnectedSince } from './nats.js';
import { Requests } from './requests.js';
import { REPEAT_HEADER, StreamAcks } from './stream-acks.js';
import { errorFields, type ContextLogger } from './logger.js';

/** What ties a message to its story: who asked, and which message caused it. */
export interface MessageContext {
  correlationId?: string;
  causationId?: string | null;
  actor?: Actor;
}

export type RequestHandler<D extends RequestDef> = (
  payload: z.infer<D['payload']>,
  envelope: TypedEnvelope<z.infer<D['payload']>>,
) => Promise<z.infer<D['result']>>;

const encoder = new TextEncoder();

/**
 * The only way services talk on NATS: every message is an envelope validated against its contract,
 * on send and on receipt. Requests go over core NATS (request/reply, queue groups); events go to
 * JetStream with the ack awaited and `Nats-Msg-Id = messageId`.
 */
export class MessageBus {
  private readonly subscriptions: Subscription[] = [];
  /**
   * Writes to NATS held until the end of this turn of the event loop (replies, events published soon):
   * queued together, they leave in one socket write — one system call and one wake-up of the NATS server
   * for a burst of requests answered in the same turn, instead of one each.
   */
  private soon: Array<() => void> = [];
  /** Events published, their acks collected on one subscription; those published soon are awaited (a while) by `settle`. */
  private readonly acks: StreamAcks;
  /** Requests sent, their replies collected on one subscription. */
  private readonly requests: Requests;

  constructor(
    readonly nc: NatsConnection,
    readonly topology: BusTopology,
    private readonly producer: string,
    private readonly log: ContextLogger,
  ) {
    this.acks = new StreamAcks(nc);
    this.requests = new Requests(nc);
  }

  envelope<P>(type: string, schemaVersion: number, payload: P, ctx: MessageContext = {}): TypedEnvelope<P> {
    const messageId = randomUUID();
    const env: TypedEnvelope<P> = {
      messageId,
      type,
      schemaVersion,
      correlationId: ctx.correlationId ?? messageId,
      causationId: ctx.causationId ?? null,
      occurredAt: new Date().toISOString(),
      producer: this.producer,
      payload,
    };
    if (ctx.actor) env.actor = ctx.actor;
    return env;
  }

  /**
   * Sends a request and returns its reply. Never throws for a remote failure: a timeout is
   * `TIMEOUT`, nobody listening is `UNAVAILABLE`. Throws only when our own payload breaks the contract.
   */
  async request<D extends RequestDef>(
    def: D,
    payload: z.input<D['payload']>,
    ctx: MessageContext = {},
    timeoutMs = 2000,
  ): Promise<Reply<z.infer<D['result']>>> {
    const checked = def.payload.safeParse(payload);
    if (!checked.success) {
      throw new ServiceError('CONTRACT_VIOLATION', `${def.type}: ${describeIssues(checked.error)}`);
    }
    // Without its server, a request would wait in nats.js's buffer and may still be delivered, late, after
    // the reconnect: it is not sent, and the caller hears why at once.
    const lost = disconnectedSince(this.nc);
    if (lost !== undefined) {
      const seconds = Math.round((Date.now() - lost) / 1000);
      return {
        ok: false,
        error: { code: 'UNAVAILABLE', message: `${def.type} not sent: ${this.producer} lost its NATS connection ${seconds} s ago and is reconnecting` },
      };
    }
    const env = this.envelope(def.type, def.schemaVersion, checked.data, ctx);
    const subject = this.topology.subject(def);
    const answer = await this.requests.request(subject, encoder.encode(JSON.stringify(env)), timeoutMs);
    if (!answer.ok) {
      const failure = answer.failure;
      if (failure.kind === 'no-responders') {
        return { ok: false, error: { code: 'UNAVAILABLE', message: `no ${def.type.split('.')[0]} service is answering ${def.type}` } };
      }
      if (failure.kind === 'timeout') return { ok: false, error: { code: 'TIMEOUT', message: `${def.type} got no answer within ${timeoutMs} ms` } };
      return { ok: false, error: { code: 'UNAVAILABLE', message: `${def.type} failed: ${failure.reason}` } };
    }
    const msg = answer.msg;
    const parsed = replySchemaOf(def).safeParse(safeJson(msg.data));
    if (!parsed.success) {
      return { ok: false, error: { code: 'CONTRACT_VIOLATION', message: `reply to ${def.type} broke its contract: ${describeIssues(parsed.error)}` } };
    }
    return parsed.data as Reply<z.infer<D['result']>>;
  }

  /** Answers requests of one type (in the service's queue group). Invalid messages never reach `handler`. */
  serve<D extends RequestDef>(def: D, queue: string, handler: RequestHandler<D>): void {
    const subject = this.topology.subject(def);
    const sub = this.nc.subscribe(subject, {
      queue,
      callback: (err, msg) => {
        if (err) {
          this.log.error('subscription error', { subject, ...errorFields(err) });
          return;
        }
        void this.handle(def, handler, msg);
      },
    });
    this.subscriptions.push(sub);
  }

  private async handle<D extends RequestDef>(def: D, handler: RequestHandler<D>, msg: Msg): Promise<void> {
    const reply = await this.dispatch(def, handler, msg.data);
    if (!msg.reply) return;
    let data = encoder.encode(JSON.stringify(reply));
    // An answer the server would refuse (nats.js throws, out of the end of the turn: the process would
    // die) is replaced by an error that says so; the caller hears why instead of timing out.
    const limit = this.nc.info?.max_payload;
    if (limit !== undefined && data.length > limit) {
      const message = `the answer to ${def.type} is ${data.length} bytes, over the bus's limit of ${limit} bytes (NATS max_payload)`;
      this.log.error('an answer too large for the bus was not sent', { type: def.type, bytes: data.length, limit });
      data = encoder.encode(JSON.stringify({ ok: false, error: { code: 'INTERNAL', message } } satisfies Reply<unknown>));
    }
    this.atEndOfTurn(() => {
      try {
        msg.respond(data);
      } catch (err) {
        // The connection closing or draining: the caller times out, as it would have without an answer.
        this.log.warn(`an answer to ${def.type} could not be sent`, errorFields(err));
      }
    });
  }

  private atEndOfTurn(write: () => void): void {
    this.soon.push(write);
    if (this.soon.length === 1) setImmediate(() => this.writeQueued());
  }

  private writeQueued(): void {
    const batch = this.soon;
    this.soon = [];
    for (const write of batch) write();
  }

  private async dispatch<D extends RequestDef>(def: D, handler: RequestHandler<D>, data: Uint8Array): Promise<Reply<unknown>> {
    const env = Envelope.safeParse(safeJson(data));
    if (!env.success) {
      return { ok: false, error: { code: 'CONTRACT_VIOLATION', message: `envelope: ${describeIssues(env.error)}` } };
    }
    if (env.data.type !== def.type) {
      return { ok: false, error: { code: 'CONTRACT_VIOLATION', message: `type ${env.data.type} sent on the subject of ${def.type}` } };
    }
    const payload = def.payload.safeParse(env.data.payload);
    if (!payload.success) {
      return { ok: false, error: { code: 'CONTRACT_VIOLATION', message: describeIssues(payload.error) } };
    }
    try {
      const data = payload.data as z.infer<D['payload']>;
      const result = await handler(data, { ...env.data, payload: data });
      return { ok: true, result };
    } catch (err) {
      if (err instanceof ServiceError) return { ok: false, error: err.toBody() };
      this.log.error(`handler of ${def.type} failed`, { correlationId: env.data.correlationId, ...errorFields(err) });
      const unreachable = unreachableCause(err);
      if (unreachable) {
        return {
          ok: false,
          error: {
            code: 'UNAVAILABLE',
            message: `${def.type} failed: ${this.producer} cannot reach what it depends on (${unreachable}); try again once it is back`,
          },
        };
      }
      return { ok: false, error: { code: 'INTERNAL', message: `${def.type} failed unexpectedly; see the ${this.producer} logs` } };
    }
  }

  /** Publishes an event to JetStream and waits for the stream's ack. Returns the envelope sent. */
  async publish<D extends EventDef>(
    def: D,
    payload: z.input<D['payload']>,
    ctx: MessageContext = {},
    key?: string,
  ): Promise<TypedEnvelope<z.infer<D['payload']>>> {
    const env = this.checkedEnvelope(def, payload, ctx);
    const data = encoder.encode(JSON.stringify(env));
    await new Promise<void>((resolve, reject) => this.acks.publish(this.topology.subject(def, key), data, env.messageId, reject, resolve));
    return env;
  }

  /**
   * Publishes an event to JetStream at the end of the current turn of the event loop, with the replies
   * and other events of that turn: one socket write for all of them, in the order queued. For events
   * whose caller does not wait for the stream's ack (the record is already elsewhere, or a late event is
   * harmless). The stream's ack is still checked, with the others of its subject (StreamAcks). Never
   * throws: a payload that breaks its contract (checked now), a negative ack, no stream for the subject,
   * or no ack within STREAM_ACK_TIMEOUT_MS goes to `onFailure`.
   */
  publishSoon<D extends EventDef>(def: D, payload: z.input<D['payload']>, ctx: MessageContext, onFailure: (err: unknown) => void): void {
    const send = this.confirmedLater(def, payload, ctx, onFailure);
    if (send) this.atEndOfTurn(send);
  }

  /**
   * Publishes an event to JetStream now, before anything written after it on this connection, without
   * waiting for the stream's ack: it is confirmed with the others of its subject (StreamAcks), one ack
   * back for a group instead of one per event. Never throws: a payload that breaks its contract, or an
   * event not confirmed, goes to `onFailure`. For events that must reach the stream before what they
   * cause, whose caller does not wait (publishSoon writes at the end of the turn instead).
   */
  publishNow<D extends EventDef>(def: D, payload: z.input<D['payload']>, ctx: MessageContext, onFailure: (err: unknown) => void): void {
    this.confirmedLater(def, payload, ctx, onFailure)?.();
  }

  /**
   * The event checked against its contract and encoded now, and what publishes it to be confirmed with
   * its subject's group (StreamAcks); undefined, and `onFailure` told, when the payload breaks its contract.
   */
  private confirmedLater<D extends EventDef>(
    def: D,
    payload: z.input<D['payload']>,
    ctx: MessageContext,
    onFailure: (err: unknown) => void,
  ): (() => void) | undefined {
    let env: TypedEnvelope<z.infer<D['payload']>>;
    try {
      env = this.checkedEnvelope(def, payload, ctx);
    } catch (err) {
      onFailure(err);
      return undefined;
    }
    const subject = this.topology.subject(def);
    const data = encoder.encode(JSON.stringify(env));
    return () => this.acks.publish(subject, data, env.messageId, onFailure);
  }

  /** The payload checked against its contract (CONTRACT_VIOLATION thrown otherwise), in its envelope. */
  private checkedEnvelope<D extends EventDef | MarketDataDef | SignalDef>(
    def: D,
    payload: z.input<D['payload']>,
    ctx: MessageContext,
  ): TypedEnvelope<z.infer<D['payload']>> {
    const checked = def.payload.safeParse(payload);
    if (!checked.success) throw new ServiceError('CONTRACT_VIOLATION', `${def.type}: ${describeIssues(checked.error)}`);
    return this.envelope(def.type, def.schemaVersion, checked.data as z.infer<D['payload']>, ctx);
  }

  /** Publishes market data on core NATS (at most once, no ack, not audited). */
  broadcast<D extends MarketDataDef>(def: D, payload: z.input<D['payload']>, key: string): void {
    const env = this.checkedEnvelope(def, payload, {});
    this.nc.publish(this.topology.subject(def, key), encoder.encode(JSON.stringify(env)));
  }

  /**
   * Publishes a signal on core NATS now (at most once, no ack, not audited): what is about to be
   * recorded, for others to act on before it is. Never throws (the record must not depend on it): a
   * payload that breaks its contract, or a closed connection, is logged and the signal dropped.
   */
  signal<D extends SignalDef>(def: D, payload: z.input<D['payload']>, ctx: MessageContext): void {
    try {
      const env = this.checkedEnvelope(def, payload, ctx);
      this.nc.publish(this.topology.subject(def), encoder.encode(JSON.stringify(env)));
    } catch (err) {
      this.log.error(`a ${def.type} signal was not sent`, errorFields(err));
    }
  }

  /** Receives market data (`key` may hold NATS wildcards, e.g. `binance.>`); invalid messages are dropped and logged. */
  listen<D extends MarketDataDef>(def: D, key: string, handler: (payload: z.infer<D['payload']>) => void): Subscription {
    return this.subscribe(def, this.topology.subject(def, key), handler);
  }

  /**
   * Sees events as they are published, on core NATS: at most once, and nothing while disconnected. For
   * hints that something changed (the source of truth is read on them, and again periodically); what
   * must not be missed is consumed from the stream with acks instead. Keyed events: pass `key` (`>` for all).
   * `othersOnly`: this process's own events are dropped before their payload is read (what a replica
   * learns from its peers, it already knows of itself).
   */
  observe<D extends EventDef>(def: D, handler: (payload: z.infer<D['payload']>) => void, key?: string, options: { othersOnly?: boolean } = {}): Subscription {
    return this.subscribe(def, this.topology.subject(def, key), handler, options.othersOnly === true);
  }

  private subscribe<D extends EventDef | MarketDataDef>(
    def: D,
    subject: string,
    handler: (payload: z.infer<D['payload']>) => void,
    othersOnly = false,
  ): Subscription {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return this.log.error('subscription error', { subject, ...errorFields(err) });
        // An event published again for its stream's ack only (StreamAcks): seen already.
        if (msg.headers?.has(REPEAT_HEADER)) return;
        const env = Envelope.safeParse(safeJson(msg.data));
        if (othersOnly && env.success && env.data.producer === this.producer) return;
        const payload = env.success && env.data.type === def.type ? def.payload.safeParse(env.data.payload) : undefined;
        if (!payload?.success) return this.log.warn(`dropped an invalid ${def.type} message`, { subject: msg.subject });
        handler(payload.data as z.infer<D['payload']>);
      },
    });
    this.subscriptions.push(sub);
    return sub;
  }

  /** Stops answering requests (in-flight handlers finish). */
  stop(): Promise<void> {
    for (const sub of this.subscriptions.splice(0)) sub.unsubscribe();
    return Promise.resolve();
  }

  /**
   * Sends the replies and events queued for the end of this turn now, and waits (up to `timeoutMs`)
   * for the acks of the events published soon: called once the handlers have finished, before the
   * connection drains, so that a shutdown does not cut them off.
   */
  async settle(timeoutMs = 2000): Promise<void> {
    this.writeQueued();
    await this.acks.settled(timeoutMs);
  }
}

/** Reply schemas built once per request type: building a zod schema costs more than using it. */
const replySchemas = new WeakMap<RequestDef, ReturnType<typeof replySchema>>();
function replySchemaOf(def: RequestDef): ReturnType<typeof replySchema> {
  let schema = replySchemas.get(def);
  if (!schema) replySchemas.set(def, (schema = replySchema(def.result)));
  return schema;
}
