import { randomBytes } from 'node:crypto';
import type { Actor, ScopeState, TypedEnvelope } from '@garde/contracts';
import type { MessageContext } from '@garde/platform';
import { BotException } from '../errors/bot.exception.js';

/** Roles that may change bots; a viewer only reads. Services and the system act on their own authority. */
const MUTATING_ROLES = new Set(['operator', 'risk', 'admin']);

/** The actor of a mutation, or the refusal: none → UNAUTHENTICATED, a viewer → FORBIDDEN. */
export function authorizeMutation(actor: Actor | undefined, what: string): Actor {
  if (!actor) throw new BotException('UNAUTHENTICATED', `${what} needs an identified actor`);
  if (actor.kind === 'operator' && !(actor.role && MUTATING_ROLES.has(actor.role))) {
    throw new BotException('FORBIDDEN', `role ${actor.role ?? 'none'} may not ${what} (needs operator, risk or admin)`);
  }
  return actor;
}

/** The state reason of a bot halted by a kill switch; also what its note shows. */
export const haltReason = (state: Pick<ScopeState, 'scope' | 'reason'>): string => `kill switch ${state.scope}: ${state.reason}`;

/**
 * The KV entry carries no correlation id of the activation; the scope and its version name that
 * activation uniquely, so every halt it caused (in every replica) shares this id.
 */
export const haltCorrelationId = (state: Pick<ScopeState, 'scope' | 'version'>): string => `kill-switch:${state.scope}:v${state.version}`;

/** What a reply's consequences inherit from the request: its story, itself as cause, its actor. */
export function contextOf(env: TypedEnvelope<unknown>): MessageContext & { correlationId: string } {
  const ctx: MessageContext & { correlationId: string } = { correlationId: env.correlationId, causationId: env.messageId };
  if (env.actor) ctx.actor = env.actor;
  return ctx;
}

/** A short readable id: `bot-` and 8 hex digits. */
export const newBotId = (): string => `bot-${randomBytes(4).toString('hex')}`;
