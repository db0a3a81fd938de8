import { describe, expect, it } from '@jest/globals';
import { canonicalJson } from '@garde/domain';
import { parseAuditMessage } from './audit-message.js';

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

const envelope = {
  messageId: '0F8B6C2E-3D4A-4B5C-9D6E-7F8091A2B3C4',
  type: 'risk.evt.killswitch.activated',
  schemaVersion: 1,
  correlationId: 'corr-1',
  causationId: null,
  occurredAt: '2025-11-28T10:00:00.123Z',
  producer: 'risk-service/pod-1',
  actor: { id: 'alice', kind: 'operator', role: 'operator' },
  payload: { scope: 'global', reason: 'drill' },
  // A member of a newer envelope version: kept, and covered by the hash.
  traceId: 'abc',
};

describe('parseAuditMessage', () => {
  it('keeps the envelope as received, with its canonical text, level and query columns', () => {
    const parsed = parseAuditMessage(encode(envelope));
    expect(parsed).toEqual({
      ok: true,
      candidate: {
        messageId: '0f8b6c2e-3d4a-4b5c-9d6e-7f8091a2b3c4',
        type: 'risk.evt.killswitch.activated',
        level: 'critical',
        occurredAt: new Date('2025-11-28T10:00:00.123Z'),
        producer: 'risk-service/pod-1',
        actorId: 'alice',
        correlationId: 'corr-1',
        envelope,
        canonical: canonicalJson(envelope),
      },
    });
    expect(parsed.ok && parsed.candidate.canonical).toContain('"traceId":"abc"');
  });

  it('grades unknown event types info and stores no actor when there is none', () => {
    const { actor: _actor, ...anonymous } = envelope;
    const parsed = parseAuditMessage(encode({ ...anonymous, type: 'gateway.evt.venue.something-new' }));
    expect(parsed).toMatchObject({ ok: true, candidate: { level: 'info', actorId: null } });
  });

  it("grades a venue's recovery by its payload: info, where its loss is an error", () => {
    const venue = (state: string, previous: string) => ({
      ...envelope,
      type: 'gateway.evt.venue.health-changed',
      payload: {
        venue: {
          accountId: 'a',
          exchangeId: 'binance',
          state,
          reconciling: false,
          latencyMs: 3,
          consecutiveFailures: 0,
          lastError: null,
          since: '2025-11-28T10:00:00.000Z',
          checkedAt: null,
        },
        previous,
      },
    });
    expect(parseAuditMessage(encode(venue('DISCONNECTED', 'CONNECTED')))).toMatchObject({ ok: true, candidate: { level: 'error' } });
    expect(parseAuditMessage(encode(venue('CONNECTED', 'DISCONNECTED')))).toMatchObject({ ok: true, candidate: { level: 'info' } });
  });

  it('refuses bytes that are not UTF-8 JSON', () => {
    expect(parseAuditMessage(encode('{not json'))).toMatchObject({ ok: false, reason: 'unparseable' });
    expect(parseAuditMessage(Uint8Array.of(0x7b, 0xff, 0x7d))).toMatchObject({ ok: false, reason: 'unparseable' });
  });

  it('refuses JSON that is not an envelope, saying which field is wrong', () => {
    expect(parseAuditMessage(encode({ ...envelope, messageId: 'not-a-uuid' }))).toMatchObject({
      ok: false,
      reason: 'invalid-envelope',
      detail: expect.stringContaining('messageId'),
    });
    expect(parseAuditMessage(encode([1, 2]))).toMatchObject({ ok: false, reason: 'invalid-envelope' });
  });

  it('refuses what PostgreSQL could never store rather than retrying it forever', () => {
    const nul = parseAuditMessage(encode({ ...envelope, payload: { reason: 'a\u0000b' } }));
    expect(nul).toMatchObject({ ok: false, reason: 'unstorable', detail: expect.stringContaining('$.payload.reason') });
    const surrogate = parseAuditMessage(
      encode(
        `{"messageId":"${envelope.messageId}","type":"x.evt.a.b","schemaVersion":1,"correlationId":"c","causationId":null,"occurredAt":"2025-11-28T10:00:00Z","producer":"p","payload":"\\ud800"}`,
      ),
    );
    expect(surrogate).toMatchObject({ ok: false, reason: 'unstorable' });
  });
});
