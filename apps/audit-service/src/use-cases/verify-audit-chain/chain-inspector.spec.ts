import { describe, expect, it } from '@jest/globals';
import { GENESIS_HASH, canonicalJson, chainHash } from '@garde/domain';
import { inspectRows, type InspectedRow } from './chain-inspector.js';

function chain(length: number): InspectedRow[] {
  const rows: InspectedRow[] = [];
  let prevHash = GENESIS_HASH;
  for (let sequence = 1; sequence <= length; sequence++) {
    const envelope = {
      messageId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
      type: 'bot.evt.bot.state-changed',
      correlationId: `c-${sequence}`,
      occurredAt: `2025-11-28T10:00:0${sequence}.000Z`,
      producer: 'bot-service/1',
      actor: { id: 'alice', kind: 'operator' },
      payload: { botId: 'b-1', reason: `step ${sequence}` },
    };
    const canonical = canonicalJson(envelope);
    const hash = chainHash(prevHash, canonical);
    rows.push({
      sequence,
      messageId: envelope.messageId,
      type: envelope.type,
      occurredAt: new Date(envelope.occurredAt),
      producer: envelope.producer,
      actorId: 'alice',
      correlationId: envelope.correlationId,
      envelope,
      canonical,
      prevHash,
      hash,
    });
    prevHash = hash;
  }
  return rows;
}

describe('inspectRows', () => {
  it('accepts an intact chain and returns its head', () => {
    const rows = chain(4);
    expect(inspectRows(rows)).toEqual({ ok: true, checked: 4, head: rows[3]!.hash });
  });

  it('continues from the row before a page', () => {
    const rows = chain(4);
    expect(inspectRows(rows.slice(2), { sequence: 2, hash: rows[1]!.hash })).toEqual({ ok: true, checked: 2, head: rows[3]!.hash });
  });

  it('names the row whose canonical text changed (the hash no longer matches)', () => {
    const rows = chain(4);
    rows[2] = { ...rows[2]!, canonical: rows[2]!.canonical.replace('step 3', 'step X') };
    expect(inspectRows(rows)).toMatchObject({ ok: false, checked: 2, badSequence: 3, reason: expect.stringContaining('hash') });
  });

  it('names the row whose envelope changed while canonical and hash still agree', () => {
    const rows = chain(4);
    rows[1] = { ...rows[1]!, envelope: { ...(rows[1]!.envelope as object), payload: { botId: 'b-1', reason: 'step X' } } };
    expect(inspectRows(rows)).toMatchObject({ ok: false, checked: 1, badSequence: 2, reason: 'the canonical text does not match the stored envelope' });
  });

  it('names the row whose query columns no longer say what its envelope says', () => {
    const rows = chain(3);
    rows[2] = { ...rows[2]!, actorId: 'mallory', type: 'bot.evt.bot.created' };
    expect(inspectRows(rows)).toMatchObject({ ok: false, checked: 2, badSequence: 3, reason: 'column type, actor_id does not match the stored envelope' });
  });

  it('reports a chain break before a later content change', () => {
    const rows = chain(4);
    rows[3] = { ...rows[3]!, producer: 'someone-else' };
    rows.splice(1, 1);
    expect(inspectRows(rows)).toMatchObject({ ok: false, checked: 1, badSequence: 3, reason: expect.stringContaining('sequence gap') });
  });
});
