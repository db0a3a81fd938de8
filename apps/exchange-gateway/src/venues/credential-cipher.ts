import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Exchange credentials at rest: AES-256-GCM under the master key (GARDE_MASTER_KEY), a fresh 96-bit
 * IV per value, and the account id as additional data, so a ciphertext copied onto another account's
 * row does not decrypt. Stored as `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
export class CredentialCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError('the master key must be 32 bytes (AES-256)');
  }

  encrypt(plaintext: string, accountId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(accountId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** Throws when the value was altered, belongs to another account, or was sealed under another key. */
  decrypt(sealed: string, accountId: string): string {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed credential (expected v1.<iv>.<tag>.<ciphertext>)');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(accountId, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`the credentials of account ${accountId} do not decrypt: altered, or sealed under another master key`);
    }
  }
}
