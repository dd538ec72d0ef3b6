import { JwtService } from '@nestjs/jwt';
import { loadConfig } from '../config/config.js';
import { TokenService } from './token.service.js';

describe('TokenService', () => {
  const config = loadConfig({ JWT_SECRET: 's'.repeat(40), ACCESS_TOKEN_TTL_SECONDS: '120' });
  const jwt = new JwtService({});
  const tokens = new TokenService(jwt, config);
  const userId = '11111111-1111-4111-8111-111111111111';
  const sessionId = '22222222-2222-4222-8222-222222222222';

  it('issues an HS256 access token with sub, sid, typ, iat and exp', () => {
    const token = tokens.issueAccessToken(userId, sessionId);
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = jwt.verify(token, { secret: config.jwtSecret, algorithms: ['HS256'] });
    expect(claims).toMatchObject({ sub: userId, sid: sessionId, typ: 'access' });
    expect(claims.exp - claims.iat).toBe(120);
  });

  it('signs with JWT_SECRET: another secret does not verify', () => {
    const token = tokens.issueAccessToken(userId, sessionId);
    expect(() => jwt.verify(token, { secret: 'another-secret-another-secret-1234', algorithms: ['HS256'] })).toThrow();
  });
});
