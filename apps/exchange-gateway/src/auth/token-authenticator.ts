import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Actor, Role } from '@garde/contracts';
import { SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, risk: 2, admin: 3 };

/** Does `role` include the rights of `needed`? viewer < operator < risk < admin. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

export const sha256Hex = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Bearer tokens from config, stored as SHA-256 only; compared in constant time. */
@Injectable()
export class TokenAuthenticator {
  private readonly entries: Array<{ actor: string; role: Role; digest: Buffer }>;

  constructor(@Inject(SERVICE_CONFIG) config: GatewayConfig) {
    this.entries = config.GARDE_API_TOKENS.map((t) => ({ actor: t.actor, role: t.role, digest: Buffer.from(t.sha256, 'hex') }));
  }

  /** The actor behind an `Authorization: Bearer <token>` header, or undefined. */
  authenticate(header: string | undefined): Actor | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match?.[1]) return undefined;
    const digest = Buffer.from(sha256Hex(match[1]), 'hex');
    let found: Actor | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest)) found = { id: entry.actor, kind: 'operator', role: entry.role };
    }
    return found;
  }
}
