import { createSecretKey, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '../config/config.js';

export const JWT_ALGORITHM = 'HS256';

/**
 * JWT_SECRET as a KeyObject. Given a string, jsonwebtoken first tries to
 * parse it as a PEM public key, failing with an exception on every call: a
 * fifth of the CPU of an authenticated request, measured.
 */
export function jwtKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

@Injectable()
export class TokenService {
  private readonly key: KeyObject;

  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
  ) {
    this.key = jwtKey(config.jwtSecret);
  }

  /** A short-lived HS256 JWT: `sub` (user), `sid` (session), `typ: access`, `iat`, `exp`. */
  issueAccessToken(userId: string, sessionId: string): string {
    return this.jwt.sign(
      { sid: sessionId, typ: 'access' },
      {
        subject: userId,
        algorithm: JWT_ALGORITHM,
        privateKey: this.key as unknown as string,
        expiresIn: this.config.accessTokenTtlSeconds,
      },
    );
  }
}
