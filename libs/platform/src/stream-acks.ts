import { headers, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { safeJson } from './json.js';
import { ReplyInbox } from './reply-inbox.js';

/** How long a stream may take to acknowledge an event before it counts as not stored (nats.js's own JetStream default). */
export const STREAM_ACK_TIMEOUT_MS = 5000;

/**
 * How long an event published without asking for its own ack waits for the one ack that confirms it
 * and the others of its subject published meanwhile (see StreamAcks).
 */
const GROUP_CONFIRM_MS = 10;

/**
 * Header of an event published again only to be confirmed (`Garde-Repeat: 1`): core subscribers
 * (MessageBus.observe, listen) drop it, they saw the event the first time; the stream stores it only
 * if it lacks the event.
 */
export const REPEAT_HEADER = 'Garde-Repeat';

/** An event published and not confirmed yet. */
interface Event {
  subject: string;
  data: Uint8Array;
  messageId: string;
  onFailure: (err: unknown) => void;
  onAck?: () => void;
}

/** An ack awaited: the event that asked for it, and the earlier events of its subject it confirms. */
interface AwaitedAck {
  subject: string;
  sentAt: number;
  covers: Event[];
}

/**
 * JetStream publishes whose acks come back to one inbox subscription and are matched by the reply
 * subject's last token (what other NATS clients call an asynchronous publish). nats.js's
 * `js.publish` makes each event a request of its own — a reply mapping, a timer, an error object made
 * ready for a timeout — which on a service's hot path cost ~0.1 ms of CPU per event, as much as the
 * check or the order it records.
 *
 * Every event is checked, but not every event asks for an ack of its own: an ack is one more message
 * back to the publisher, one more wake-up of the NATS server and of this process, and was half of what
 * an event cost at the pace of pre-trade checks (bench/risk-check, BENCHMARKS.md). An event whose
 * caller waits (`onAck`) asks for its ack at once; the others are published without one, and within
 * GROUP_CONFIRM_MS the last of them on each subject is published again, with the same `Nats-Msg-Id`,
 * asking for the ack (marked REPEAT_HEADER, for core subscribers to drop). The stream stores it once
 * (its de-duplication window), and its ack confirms every event of that subject published before it
 * on this connection: a NATS server handles one client's messages in order, and what it could refuse
 * for one event (a publish permission, no stream) it refuses for every event of that subject. A
 * connection lost meanwhile may have lost events without a word: every event not confirmed when the
 * connection is back is published again, each asking for its own ack. A negative ack, no stream for
 * the subject, or no ack within `timeoutMs` goes to the `onFailure` of every event it was to confirm.
 */
export class StreamAcks {
  /** Where the acks come back. */
  private readonly inbox: ReplyInbox;
  private started = false;
  /** Acks awaited, by reply token, in publishing order. */
  private readonly awaited = new Map<string, AwaitedAck>();
  /** Events published without an ack of their own, per subject, in publishing order. */
  private readonly unconfirmed = new Map<string, Event[]>();
  private confirming?: NodeJS.Timeout;
  /** Events published and not confirmed (nor failed) yet. */
  private open = 0;
  private sweeper?: NodeJS.Timeout;
  private waiting: Array<() => void> = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = STREAM_ACK_TIMEOUT_MS,
  ) {
    this.inbox = new ReplyInbox(nc, (token, msg) => this.acked(token, msg));
  }

  /**
   * Publishes `data` with `Nats-Msg-Id = messageId` (the stream's de-duplication); then calls `onAck`
   * once the stream has stored it, or `onFailure`. With `onAck` the event asks for its ack at once;
   * without, it is confirmed with the others of its subject (see the class). Never throws.
   */
  publish(subject: string, data: Uint8Array, messageId: string, onFailure: (err: unknown) => void, onAck?: () => void): void {
    this.start();
    const event: Event = { subject, data, messageId, onFailure, ...(onAck ? { onAck } : {}) };
    this.open++;
    if (onAck) {
      const covers = this.unconfirmed.get(subject) ?? [];
      this.unconfirmed.delete(subject);
      covers.push(event);
      this.askAck(event, covers, false);
      return;
    }
    try {
      this.nc.publish(subject, data, { headers: msgIdHeader(messageId) });
    } catch (err) {
      this.done([event], err);
      return;
    }
    const group = this.unconfirmed.get(subject);
    if (group) group.push(event);
    else this.unconfirmed.set(subject, [event]);
    this.confirming ??= setTimeout(() => this.confirmGroups(), GROUP_CONFIRM_MS);
  }

  /** Events published and not confirmed (nor failed) yet. */
  get unacknowledged(): number {
    return this.open;
  }

  /** Resolves once every event published so far is confirmed or failed, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.open === 0) return;
    this.confirmGroups();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => this.waiting.push(resolve)), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** On the first event: the reconnects watched. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    void (async () => {
      for await (const status of this.nc.status()) if (status.type === 'reconnect') this.republishAll();
    })().catch(() => undefined);
  }

  /** Publishes `event` (again: `repeat`) asking for the ack that confirms `covers` (it last among them). */
  private askAck(event: Event, covers: Event[], repeat: boolean): void {
    const h = msgIdHeader(event.messageId);
    if (repeat) h.set(REPEAT_HEADER, '1');
    let token: string;
    try {
      const reply = this.inbox.reply();
      token = reply.token;
      this.nc.publish(event.subject, event.data, { headers: h, reply: reply.subject });
    } catch (err) {
      this.done(covers, err);
      return;
    }
    this.awaited.set(token, { subject: event.subject, sentAt: Date.now(), covers });
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.expire(), Math.min(1000, this.timeoutMs));
      this.sweeper.unref();
    }
  }

  /** The last unconfirmed event of each subject, published again asking for the ack that confirms its group. */
  private confirmGroups(): void {
    clearTimeout(this.confirming);
    this.confirming = undefined;
    const groups = [...this.unconfirmed.values()];
    this.unconfirmed.clear();
    for (const group of groups) this.askAck(group.at(-1)!, group, true);
  }

  /**
   * Reconnected: an event written before the connection dropped, or while it was down, may be lost
   * without an error, and a later ack would not say so. Each event not confirmed yet is published again,
   * asking for its own ack; the stream stores the ones it has once.
   */
  private republishAll(): void {
    clearTimeout(this.confirming);
    this.confirming = undefined;
    const events = [...[...this.awaited.values()].flatMap((ack) => ack.covers), ...[...this.unconfirmed.values()].flat()];
    this.awaited.clear();
    this.unconfirmed.clear();
    for (const event of events) this.askAck(event, [event], true);
  }

  private acked(token: string, msg: Msg): void {
    const ack = this.awaited.get(token);
    if (!ack) return; // already failed by the timeout, or published again after a disconnect
    this.awaited.delete(token);
    this.done(ack.covers, ackFailure(msg, ack.subject));
  }

  /** Fails the events whose ack is older than the timeout (the map is in publishing order: the oldest come first). */
  private expire(): void {
    const before = Date.now() - this.timeoutMs;
    for (const [token, ack] of this.awaited) {
      if (ack.sentAt > before) break;
      this.awaited.delete(token);
      this.done(ack.covers, new Error(`no ack from the stream for ${ack.subject} within ${this.timeoutMs} ms`));
    }
  }

  /** These events are over: confirmed (`failure` undefined) or failed. */
  private done(events: Event[], failure: unknown): void {
    this.open -= events.length;
    for (const event of events) {
      if (failure !== undefined) report(event.onFailure, failure);
      else if (event.onAck) report(event.onAck, undefined);
    }
    if (this.awaited.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
    if (this.open === 0) for (const wake of this.waiting.splice(0)) wake();
  }
}

function msgIdHeader(messageId: string): MsgHdrs {
  const h = headers();
  h.set('Nats-Msg-Id', messageId);
  return h;
}

/** Why an ack message says the event was not stored, if it does. */
function ackFailure(msg: Msg, subject: string): Error | undefined {
  const status = msg.headers?.code ?? 0;
  if (status === 503) return new Error(`no stream stores ${subject} (no responders)`);
  if (status >= 300) return new Error(`the stream answered ${subject} with status ${status} ${msg.headers?.description ?? ''}`.trim());
  const ack = safeJson(msg.data) as { stream?: unknown; error?: { code?: number; err_code?: number; description?: string } } | undefined;
  if (ack?.error)
    return new Error(`the stream refused ${subject}: ${ack.error.description ?? 'no description'} (${ack.error.err_code ?? ack.error.code ?? '?'})`);
  if (typeof ack?.stream !== 'string' || ack.stream === '') return new Error(`invalid ack from the stream for ${subject}`);
  return undefined;
}

function report(handler: (err: unknown) => void, err: unknown): void {
  try {
    handler(err);
  } catch {
    // A handler that throws must not break the acks of the others.
  }
}
