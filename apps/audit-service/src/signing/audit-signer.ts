import { Inject, Injectable } from '@nestjs/common';
import { sign } from 'node:crypto';
import type { AuditSigner as AuditSignerView } from '@garde/contracts';
import { ed25519KeyId, signedStatementBytes, verifyEd25519, type SignedStatementKind } from '@garde/domain';
import { SERVICE_CONFIG } from '@garde/platform';
import type { AuditConfig } from '../config/audit.config.js';

/**
 * The one holder of the audit-service's Ed25519 private key (from AUDIT_SIGNING_KEY). It signs
 * statements the service has checked itself (a verified chain head, an export it has read); the
 * public key is published (`GET /api/v1/audit/signer`, every manifest) for offline verifiers.
 */
@Injectable()
export class AuditSigner {
  private readonly trustedKeys: ReadonlySet<string>;

  constructor(@Inject(SERVICE_CONFIG) private readonly config: AuditConfig) {
    this.trustedKeys = new Set([config.AUDIT_SIGNING_KEY.publicKey, ...config.AUDIT_TRUSTED_PUBLIC_KEYS]);
  }

  get identity(): AuditSignerView {
    const { keyId, publicKey } = this.config.AUDIT_SIGNING_KEY;
    return { algorithm: 'Ed25519', keyId, publicKey };
  }

  /** Earlier public keys still trusted for what they signed (key rotation). */
  get previousKeys(): AuditSignerView[] {
    return this.config.AUDIT_TRUSTED_PUBLIC_KEYS.map((publicKey) => ({ algorithm: 'Ed25519', keyId: ed25519KeyId(publicKey), publicKey }));
  }

  /** Base64 Ed25519 signature of a statement of this kind. */
  sign(kind: SignedStatementKind, body: unknown): string {
    return sign(null, signedStatementBytes(kind, body), this.config.AUDIT_SIGNING_KEY.privateKey).toString('base64');
  }

  /** Why a signature made by `publicKey` is not acceptable, if it is not. */
  problemWith(kind: SignedStatementKind, body: unknown, publicKey: string, signature: string): string | undefined {
    if (!this.trustedKeys.has(publicKey)) return `signed by key ${ed25519KeyId(publicKey)}, which this audit-service does not trust`;
    if (!verifyEd25519(publicKey, signedStatementBytes(kind, body), signature)) return `its signature does not verify (key ${ed25519KeyId(publicKey)})`;
    return undefined;
  }
}
