import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { inboxPrefixOf } from './nats.js';

/**
 * Replies of many messages on one subscription: each message gets a reply subject of its own under the
 * connection's inbox prefix (where a service's NATS user may subscribe), and its reply reaches `onReply`
 * with that subject's token. What nats.js's muxed requests do, shared by the bus's requests (Requests)
 * and its stream acks (StreamAcks).
 */
export class ReplyInbox {
  private readonly prefix: string;
  private subscription?: Subscription;
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly onReply: (token: string, msg: Msg) => void,
  ) {
    this.prefix = createInbox(inboxPrefixOf(nc));
  }

  /** A reply subject not given before, and its token; subscribes on the first (throws on a closed connection). */
  reply(): { subject: string; token: string } {
    this.subscription ??= this.nc.subscribe(`${this.prefix}.*`, {
      callback: (err, msg) => (err ? undefined : this.onReply(msg.subject.slice(this.prefix.length + 1), msg)),
    });
    const token = (this.next++).toString(36);
    return { subject: `${this.prefix}.${token}`, token };
  }
}
