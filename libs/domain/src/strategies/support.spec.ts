import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { copyState } from './support.js';

describe('copyState', () => {
  it('copies any JSON value as a JSON round trip would', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(copyState(value)).toStrictEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('shares nothing with its input: changing the copy leaves the state as it was', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const before = JSON.stringify(value);
        const copy = copyState({ nested: value, list: [value] });
        copy.nested['changed'] = true;
        copy.list.length = 0;
        expect(JSON.stringify(value)).toBe(before);
      }),
    );
  });

  it('keeps an own "__proto__" key as a field, as JSON does, without touching the prototype (fast-check once drew it)', () => {
    const value = JSON.parse('[{"__proto__":{"polluted":true},"a":1}]') as unknown;
    const copy = copyState(value) as Array<Record<string, unknown>>;
    expect(copy).toStrictEqual(JSON.parse(JSON.stringify(value)));
    expect(Object.getPrototypeOf(copy[0])).toBe(Object.prototype);
    expect(Object.keys(copy[0]!)).toEqual(['__proto__', 'a']);
    expect((copy[0] as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('writes -0 as 0, as JSON does (fast-check once drew [-0])', () => {
    expect(Object.is(copyState([-0])[0], 0)).toBe(true);
  });

  it('leaves out fields whose value is undefined, as JSON does', () => {
    expect(copyState({ a: 1, b: undefined, c: { d: undefined, e: [1, { f: undefined }] } })).toStrictEqual({ a: 1, c: { e: [1, {}] } });
  });
});
