import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Actor, Role } from '@garde/contracts';
import { GatewayException } from '../errors/gateway.exception.js';
import { roleAtLeast, TokenAuthenticator } from './token-authenticator.js';

const REQUIRED_ROLE = 'garde:required-role';

/** The least role a route needs; routes without it are public (health, metrics, OpenAPI). */
export const RequireRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);

export type AuthenticatedRequest = Request & { actor: Actor };

/** 401 without a known token, 403 when its role is too weak; the actor is attached to the request. */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenAuthenticator,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const needed = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, [context.getHandler(), context.getClass()]);
    if (!needed) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const actor = this.tokens.authenticate(req.headers.authorization);
    if (!actor?.role)
      throw new GatewayException('UNAUTHENTICATED', 'missing or unknown API token: send Authorization: Bearer <token> (GARDE_TOKEN for bin/console)');
    if (!roleAtLeast(actor.role, needed)) {
      throw new GatewayException('FORBIDDEN', `role ${actor.role} may not do this (needs ${needed} or higher)`, { role: actor.role, needed });
    }
    req.actor = actor;
    return true;
  }
}
