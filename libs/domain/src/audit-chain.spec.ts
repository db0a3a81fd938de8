import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalJson, chainHash, GENESIS_HASH, verifyChain, type ChainRow } from './audit-chain.js';

function chain(events: unknown[]): ChainRow[] {
  let prev = GENESIS_HASH;
  return events.map((e, i) => {
    const canonical = canonicalJson(e);
    const row = { sequence: i + 1, prevHash: prev, hash: chainHash(prev, canonical), canonical };
    prev = row.hash;
    return row;
  });
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: 'é' } })).toBe('{"a":{"c":"é","d":[2,{"x":null,"z":1}]},"b":1}');
  });

  it('property: equal values in any key order give the same string, and it parses back to the value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const shuffled: unknown = JSON.parse(
          JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)),
        );
        expect(canonicalJson(shuffled)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('verifyChain', () => {
  const rows = chain([
    { type: 'a', n: 1 },
    { type: 'b', n: 2 },
    { type: 'c', n: 3 },
  ]);

  it('accepts an intact chain and returns its head', () => {
    expect(verifyChain(rows)).toEqual({ ok: true, checked: 3, head: rows[2]!.hash });
  });

  it('property: changing any one character of any row names that row', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.nat(), (index, at) => {
        const tampered = rows.map((r) => ({ ...r }));
        const row = tampered[index]!;
        const pos = at % row.canonical.length;
        const flipped = row.canonical[pos] === 'x' ? 'y' : 'x';
        row.canonical = row.canonical.slice(0, pos) + flipped + row.canonical.slice(pos + 1);
        expect(verifyChain(tampered)).toMatchObject({ ok: false, badSequence: row.sequence, checked: index });
      }),
    );
  });

  it('detects a removed row and a re-linked forgery', () => {
    expect(verifyChain([rows[0]!, rows[2]!])).toMatchObject({ ok: false, badSequence: 3, reason: expect.stringContaining('sequence gap') });
    const forged = { ...rows[1]!, canonical: '{"forged":true}', hash: chainHash(rows[1]!.prevHash, '{"forged":true}') };
    expect(verifyChain([rows[0]!, forged, rows[2]!])).toMatchObject({ ok: false, badSequence: 3 });
  });

  it('continues from a previous row', () => {
    expect(verifyChain(rows.slice(1), { sequence: 1, hash: rows[0]!.hash })).toEqual({ ok: true, checked: 2, head: rows[2]!.hash });
  });
});
