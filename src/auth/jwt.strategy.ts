import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/config.js';
import { Authenticator } from './authenticator.js';
import type { AccessTokenClaims } from './token.service.js';
import type { Principal } from '../common/principal.js';
import { JWT_ALGORITHM, jwtKey } from './token.service.js';

/**
 * The guard's way in. passport-jwt verifies the token with the same key and algorithm
 * as TokenService (so it refuses nothing the Authenticator would accept), then
 * validate() hands the verified claims to the Authenticator, which decides by the same
 * rules as for the cached-read fast path (the token is verified once per request). (A credential that is not a JWT, such as a
 * personal access token, gets its own passport strategy calling the same Authenticator.)
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: AppConfig,
    private readonly authenticator: Authenticator,
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
    return (await this.authenticator.authenticateVerified(claims)) ?? false;
  }
}
