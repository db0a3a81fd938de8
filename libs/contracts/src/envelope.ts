import { z } from 'zod';

/** Roles of operator tokens, weakest first: each role includes the rights of the ones before it. */
export const Role = z.enum(['viewer', 'operator', 'risk', 'admin']);
export type Role = z.infer<typeof Role>;

/** Who caused a message: an operator (through a token), a service, or the system itself. */
export const Actor = z.object({
  /** Stable identity: the token's actor name, or a service name. */
  id: z.string().min(1).max(200),
  /** `operator` for people and scripts with a token, `service` for a Garde process, `system` for automatic actions. */
  kind: z.enum(['operator', 'service', 'system']),
  /** The token's role, for operators. */
  role: Role.optional(),
});
export type Actor = z.infer<typeof Actor>;

/** The envelope around every message on the bus (DESIGN §2). */
export const Envelope = z.object({
  /** Unique id of this message; also the JetStream `Nats-Msg-Id`, so a re-publish is stored once. */
  messageId: z.uuid(),
  /** The message type, equal to its subject without namespace or key, e.g. `risk.evt.killswitch.activated`. */
  type: z.string().min(1),
  /** Version of the payload schema. */
  schemaVersion: z.number().int().positive(),
  /** Id shared by every message of one story (an operator request, an order's life). */
  correlationId: z.string().min(1),
  /** messageId of the message that caused this one, if any. */
  causationId: z.string().min(1).nullable(),
  /** When the fact happened or the request was made, ISO-8601 UTC with milliseconds. */
  occurredAt: z.iso.datetime({ offset: true }),
  /** The service (and instance) that produced the message. */
  producer: z.string().min(1),
  /** Who caused it, when known. */
  actor: Actor.optional(),
  /** The message body, validated against the schema of its type. */
  payload: z.unknown(),
});
export type Envelope = z.infer<typeof Envelope>;
export type TypedEnvelope<P> = Omit<Envelope, 'payload'> & { payload: P };
