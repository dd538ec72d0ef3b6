import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '../config/config.js';

export const JWT_ALGORITHM = 'HS256';

@Injectable()
export class TokenService {
  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
  ) {}

  /** A short-lived HS256 JWT: `sub` (user), `sid` (session), `typ: access`, `iat`, `exp`. */
  issueAccessToken(userId: string, sessionId: string): string {
    return this.jwt.sign(
      { sid: sessionId, typ: 'access' },
      {
        subject: userId,
        algorithm: JWT_ALGORITHM,
        secret: this.config.jwtSecret,
        expiresIn: this.config.accessTokenTtlSeconds,
      },
    );
  }
}
