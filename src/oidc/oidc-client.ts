import { Injectable } from '@nestjs/common';
import * as client from 'openid-client';
import { AppError, NotFoundError, ServiceUnavailableError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';
import type { OidcConfig } from './oidc-config.js';

/** Bound on each request to the provider (discovery, JWKS, token endpoint). */
const PROVIDER_TIMEOUT_SECONDS = 10;

/** What the provider says about the person who signed in, from the verified ID token. */
export interface OidcClaims {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  preferredUsername: string | null;
  /** Authentication methods the provider used (`amr`), as it reported them. */
  amr: string[];
}

/** The checks kept server-side between the redirect to the provider and its callback. */
export interface PendingChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export class OidcLoginFailedError extends AppError {
  constructor(detail = 'The sign-in with the provider could not be verified. Start again.') {
    super(401, 'oidc-login-failed', detail);
  }
}

/**
 * The relying party, on openid-client: discovery (once, retried after a
 * failure), the authorization URL with PKCE, state and nonce, and the code
 * exchange that verifies the ID token (issuer, audience, expiry, nonce,
 * signature from the provider's JWKS). A provider that cannot be reached is a
 * 503, never a 500.
 */
@Injectable()
export class OidcClient {
  private readonly settings: OidcConfig;
  private discovered: Promise<client.Configuration> | undefined;

  constructor(config: AppConfig) {
    this.settings = config.oidc;
  }

  get enabled(): boolean {
    return this.settings.issuerUrl !== undefined && this.settings.clientId !== undefined;
  }

  get name(): string {
    return this.settings.name;
  }

  /** 404 when OIDC_ISSUER_URL is unset: the routes do not exist on this server. */
  assertEnabled(): void {
    if (!this.enabled) throw new NotFoundError('OpenID Connect sign-in is not configured on this server.');
  }

  isAllowedRedirect(redirectUri: string): boolean {
    return this.settings.allowedRedirects.includes(redirectUri);
  }

  /** Where to send the browser, and the checks to keep until it comes back. */
  async authorizationUrl(callbackUrl: string): Promise<{ url: string; checks: PendingChecks }> {
    const configuration = await this.configuration();
    const checks: PendingChecks = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: callbackUrl,
      scope: this.settings.scopes,
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, checks };
  }

  /** Trades the callback's code for tokens and returns the verified ID token's claims. */
  async exchange(callbackUrl: URL, checks: PendingChecks): Promise<OidcClaims> {
    const configuration = await this.configuration();
    let claims: client.IDToken | undefined;
    let profile: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
      profile = { ...claims };
      // Some providers put the email only in the UserInfo answer (for the verified subject).
      if (claims && claims.email === undefined && configuration.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
        profile = { ...info, ...claims, email: info.email, email_verified: info.email_verified };
      }
    } catch (error) {
      if (unreachable(error)) throw providerDown();
      throw new OidcLoginFailedError();
    }
    if (!claims) throw new OidcLoginFailedError();
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [];
    const email = typeof profile.email === 'string' ? profile.email.trim().toLowerCase() : '';
    return {
      issuer: claims.iss,
      subject: claims.sub,
      email: email !== '' && email.length <= 254 ? email : null,
      // true, or the string "true" some providers send; anything else is not verified.
      emailVerified: profile.email_verified === true || profile.email_verified === 'true',
      preferredUsername: typeof profile.preferred_username === 'string' ? profile.preferred_username : null,
      amr,
    };
  }

  private configuration(): Promise<client.Configuration> {
    this.assertEnabled();
    if (!this.discovered) {
      const { issuerUrl, clientId, clientSecret } = this.settings;
      const issuer = new URL(issuerUrl as string);
      this.discovered = client
        .discovery(
          issuer,
          clientId as string,
          clientSecret,
          clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret),
          {
            timeout: PROVIDER_TIMEOUT_SECONDS,
            // Plain http is refused by the configuration outside development and tests.
            execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
          },
        )
        .catch((error: unknown) => {
          // Not kept: the next sign-in tries the discovery again.
          this.discovered = undefined;
          throw unreachable(error) || error instanceof client.ClientError ? providerDown() : error;
        });
    }
    return this.discovered;
  }
}

function providerDown(): ServiceUnavailableError {
  return new ServiceUnavailableError('The sign-in provider cannot be reached right now. Try again in a moment.');
}

/** A network failure, a timeout, or the provider answering 5xx / not JSON. */
function unreachable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  // By name, not instanceof: fetch's errors come from Node's own realm, not always the caller's.
  const { name, message, code, cause } = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    cause?: unknown;
  };
  if (name === 'TypeError' && message === 'fetch failed') return true;
  if (name === 'TimeoutError' || name === 'AbortError') return true;
  if (error instanceof client.ResponseBodyError) return error.status >= 500;
  if (error instanceof client.ClientError) {
    return code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON' || unreachable(cause);
  }
  return false;
}
