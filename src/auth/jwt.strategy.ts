import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/config.js';
import type { AccessTokenClaims, Principal } from './principal.js';
import { SessionsService } from './sessions.service.js';
import { JWT_ALGORITHM, jwtKey, principalOf } from './token.service.js';

/**
 * Accepts only HS256 access tokens signed with JWT_SECRET, unexpired, of type
 * `access`, whose session is still live and whose user is still enabled.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: AppConfig,
    private readonly sessions: SessionsService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt hands it to jsonwebtoken, which takes a KeyObject (its typings say string).
      secretOrKey: jwtKey(config.jwtSecret) as unknown as string,
      algorithms: [JWT_ALGORITHM],
      ignoreExpiration: false,
    });
  }

  async validate(claims: Partial<AccessTokenClaims>): Promise<Principal | false> {
    const principal = principalOf(claims);
    if (!principal || !(await this.sessions.isActive(principal.sessionId, principal.userId))) return false;
    return principal;
  }
}
