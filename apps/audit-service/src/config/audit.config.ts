import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ed25519KeyId } from '@garde/domain';
import { BaseServiceEnv, loadConfig } from '@garde/platform';

/** The audit-service's Ed25519 key pair, parsed once. */
export interface AuditSigningKey {
  privateKey: KeyObject;
  /** The 32 raw bytes of the public key, base64. */
  publicKey: string;
  keyId: string;
}

/**
 * `AUDIT_SIGNING_KEY`: an Ed25519 private key, as 32 random bytes in base64 (`openssl rand -base64 32`:
 * any 32 bytes are a valid Ed25519 seed) or as a PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
 * It signs the chain checkpoints and the export manifests; only this service ever holds it.
 */
const SigningKey = z
  .string({ error: 'required: an Ed25519 private key, 32 random bytes in base64 (openssl rand -base64 32); npm start keeps one in .garde/audit-signing.key' })
  .transform((value, ctx): AuditSigningKey => {
    try {
      const text = value.trim().replaceAll('\\n', '\n');
      let privateKey: KeyObject;
      if (text.startsWith('-----BEGIN')) {
        privateKey = createPrivateKey(text);
      } else {
        const seed = Buffer.from(text, 'base64');
        if (seed.length !== 32) throw new Error('length');
        // PKCS#8 DER of an Ed25519 private key: a fixed 16-byte prefix, then the 32-byte seed.
        privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
      }
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('type');
      const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
      const publicKey = Buffer.from(String(jwk.x), 'base64url').toString('base64');
      return { privateKey, publicKey, keyId: ed25519KeyId(publicKey) };
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected an Ed25519 private key: 32 random bytes in base64 (openssl rand -base64 32) or a PKCS#8 PEM' });
      return z.NEVER;
    }
  });

/** Comma-separated public keys (32 raw bytes, base64) of earlier signing keys, still trusted for old checkpoints. */
const PublicKeys = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const keys = value
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
    keys.forEach((k, i) => {
      if (Buffer.from(k, 'base64').length !== 32) ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not an Ed25519 public key (32 bytes in base64)` });
    });
    return keys;
  });

export const AuditConfigSchema = BaseServiceEnv.extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3104),
  /** Most events appended in one transaction (one pull of the durable consumer). 500 keeps up with 5,000 events/s here (bench/audit-ingest); 100 did not. */
  AUDIT_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(500),
  /**
   * Deliveries of one event before JetStream gives up on it. A failed database write does not count
   * (the consumer retries in place); only a crash or a stop before the ack does. A message that reaches
   * it is counted as poison (`max-deliveries`) and logged with its stream sequence.
   */
  AUDIT_MAX_DELIVER: z.coerce.number().int().min(2).max(10_000).default(1000),
  /** Time JetStream waits for an ack before redelivering (a crashed replica's events go to another). */
  AUDIT_ACK_WAIT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** First delay before retrying a failed database write; doubles per try, capped at a minute. */
  AUDIT_RETRY_DELAY_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** The Ed25519 private key (see SigningKey). Required: `npm start` keeps one in `.garde/audit-signing.key`. */
  AUDIT_SIGNING_KEY: SigningKey,
  /** Public keys of earlier signing keys whose checkpoints still verify (after a key rotation). */
  AUDIT_TRUSTED_PUBLIC_KEYS: PublicKeys,
  /** How often the chain head is verified (rows since the last checkpoint) and signed, when it has moved. */
  AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(50).max(86_400_000).default(60_000),
  /**
   * Rows are kept at least this many days (default 1827: five years, leap days included, as order records
   * require); `audit:purge` refuses anything younger. One retention for the whole chain, which is purged
   * only from its start.
   */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(1827),
});
export type AuditConfig = z.infer<typeof AuditConfigSchema>;

export const loadAuditConfig = (env?: Record<string, string | undefined>): AuditConfig => loadConfig('audit-service', AuditConfigSchema, env);
