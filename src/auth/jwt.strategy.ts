import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { isUuid } from '../common/pagination.js';
import { AppConfig } from '../config/config.js';
import type { AccessTokenClaims, Principal } from './principal.js';
import { SessionsService } from './sessions.service.js';
import { JWT_ALGORITHM, jwtKey } from './token.service.js';

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
    if (claims.typ !== 'access' || !isUuid(claims.sub) || !isUuid(claims.sid)) return false;
    if (!(await this.sessions.isActive(claims.sid, claims.sub))) return false;
    return { userId: claims.sub, sessionId: claims.sid };
  }
}
