import { describe, expect, it } from '@jest/globals';
import { BotId } from '@garde/contracts';
import { authorizeMutation, contextOf, haltCorrelationId, haltReason, newBotId } from './bot-rules.js';

describe('authorizeMutation', () => {
  it('refuses a request without actor as UNAUTHENTICATED', () => {
    expect(() => authorizeMutation(undefined, 'start a bot')).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });

  it('refuses a viewer and an operator without role as FORBIDDEN', () => {
    expect(() => authorizeMutation({ id: 'v', kind: 'operator', role: 'viewer' }, 'stop a bot')).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN', message: expect.stringContaining('viewer') }),
    );
    expect(() => authorizeMutation({ id: 'x', kind: 'operator' }, 'stop a bot')).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
  });

  it('lets operators, risk, admin, services and the system through', () => {
    for (const actor of [
      { id: 'a', kind: 'operator' as const, role: 'operator' as const },
      { id: 'r', kind: 'operator' as const, role: 'risk' as const },
      { id: 'd', kind: 'operator' as const, role: 'admin' as const },
      { id: 'risk-service', kind: 'service' as const },
      { id: 'system', kind: 'system' as const },
    ]) {
      expect(authorizeMutation(actor, 'start a bot')).toBe(actor);
    }
  });
});

describe('kill-switch helpers', () => {
  it('names the scope and its reason', () => {
    expect(haltReason({ scope: 'exchange:binance', reason: 'venue down' })).toBe('kill switch exchange:binance: venue down');
    expect(haltCorrelationId({ scope: 'global', version: 3 })).toBe('kill-switch:global:v3');
  });
});

describe('contextOf', () => {
  it('keeps the story, makes the request the cause and carries its actor', () => {
    const env = {
      messageId: '6f1c2a7e-0d7b-4a43-9a55-0c1f9d1e2b3c',
      type: 'bot.cmd.bot.start',
      schemaVersion: 1,
      correlationId: 'story-1',
      causationId: null,
      occurredAt: new Date(0).toISOString(),
      producer: 'test',
      actor: { id: 'alice', kind: 'operator' as const, role: 'operator' as const },
      payload: {},
    };
    expect(contextOf(env)).toEqual({ correlationId: 'story-1', causationId: env.messageId, actor: env.actor });
  });
});

describe('newBotId', () => {
  it('is short, readable and a valid bot id', () => {
    const id = newBotId();
    expect(id).toMatch(/^bot-[0-9a-f]{8}$/);
    expect(BotId.safeParse(id).success).toBe(true);
    expect(newBotId()).not.toBe(id);
  });
});
