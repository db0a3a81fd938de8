import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { CredentialCipher } from './credential-cipher.js';

describe('CredentialCipher', () => {
  const cipher = new CredentialCipher(randomBytes(32));

  it('round-trips, with a fresh IV each time and no plaintext in the sealed value', () => {
    const a = cipher.encrypt('s3cret-api-secret', 'acct-1');
    const b = cipher.encrypt('s3cret-api-secret', 'acct-1');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(a).not.toContain('s3cret');
    expect(cipher.decrypt(a, 'acct-1')).toBe('s3cret-api-secret');
  });

  it('refuses a changed byte, another account, and another master key', () => {
    const sealed = cipher.encrypt('s3cret', 'acct-1');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    const altered = [...parts.slice(0, 3), body.toString('base64url')].join('.');
    expect(() => cipher.decrypt(altered, 'acct-1')).toThrow('do not decrypt');
    expect(() => cipher.decrypt(sealed, 'acct-2')).toThrow('do not decrypt');
    expect(() => new CredentialCipher(randomBytes(32)).decrypt(sealed, 'acct-1')).toThrow('do not decrypt');
    expect(() => cipher.decrypt('plain', 'acct-1')).toThrow('not a sealed credential');
  });

  it('needs a 32-byte key', () => {
    expect(() => new CredentialCipher(randomBytes(16))).toThrow('32 bytes');
  });
});
