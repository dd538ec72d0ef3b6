import { list, optionalText, type Parser, text, url, variable, type VariableTable } from '../config/variables.js';

/** OpenID Connect sign-in, read with the rest of the configuration. Off unless OIDC_ISSUER_URL is set. */
export interface OidcConfig {
  /** Unset: OIDC is off, its routes answer 404. */
  issuerUrl: string | undefined;
  clientId: string | undefined;
  /** Unset: a public client (PKCE alone, no client authentication). */
  clientSecret: string | undefined;
  scopes: string;
  /** The label of the sign-in button. */
  name: string;
  /** Where GET /auth/oidc/authorize may send the browser back to, exactly as listed. */
  allowedRedirects: string[];
}

/** Absolute http(s) URLs without a fragment: compared as written with `redirect_uri`. */
function isRedirectTarget(value: string): boolean {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && !value.includes('#');
  } catch {
    return false;
  }
}

/** Space-separated, extra spaces dropped. */
const scopes: Parser<string> = (raw, name, problems) =>
  text('openid email profile')(raw, name, problems).split(/\s+/).join(' ');

/** The OIDC module's variables, in README's order. */
export const OIDC_VARIABLES: VariableTable<OidcConfig> = {
  // Plain http is refused in production by finishOidcConfig (a provider on localhost in development and tests).
  issuerUrl: variable('OIDC_ISSUER_URL', url(['https:', 'http:']), {
    default: 'unset: OIDC off',
    meaning:
      'issuer of an OpenID Connect provider (`https://accounts.google.com`, `https://sso.example.com/realms/main`); its discovery document is read at the first sign-in. `https://` in production. Unset: the `/auth/oidc/*` routes answer 404 (see OpenID Connect sign-in)',
  }),
  clientId: variable('OIDC_CLIENT_ID', optionalText(), {
    default: 'unset',
    meaning: 'the client id registered at the provider (required with `OIDC_ISSUER_URL`)',
  }),
  clientSecret: variable('OIDC_CLIENT_SECRET', optionalText(), {
    default: 'unset: public client',
    meaning: 'its client secret (sent with HTTP Basic); unset: a public client, PKCE alone',
  }),
  scopes: variable('OIDC_SCOPES', scopes, {
    default: '`openid email profile`',
    meaning: 'scopes asked for, space-separated; must include `openid`',
  }),
  name: variable('OIDC_NAME', text('OpenID Connect'), {
    default: '`OpenID Connect`',
    meaning: "the provider's name for the sign-in button, shown in `GET /users/me/identities` and the OpenAPI document",
  }),
  allowedRedirects: variable(
    'OIDC_ALLOWED_REDIRECTS',
    list(isRedirectTarget, 'entries must be absolute http(s) URLs without a fragment'),
    {
      default: 'unset',
      meaning:
        'comma-separated exact URLs the client app may name as `redirect_uri` (required with `OIDC_ISSUER_URL`); anything else is a 400',
    },
  ),
};

/** The rules that involve several settings. */
export function finishOidcConfig(
  settings: OidcConfig,
  { production }: { production: boolean },
  problems: string[],
): OidcConfig {
  if (settings.issuerUrl === undefined) return settings;
  if (production && !settings.issuerUrl.startsWith('https:')) {
    problems.push('OIDC_ISSUER_URL must be a URL starting with https:// when NODE_ENV=production');
  }
  if (settings.clientId === undefined) problems.push('OIDC_CLIENT_ID is required when OIDC_ISSUER_URL is set');
  if (!settings.scopes.split(' ').includes('openid')) {
    problems.push(`OIDC_SCOPES must include openid (got "${settings.scopes}")`);
  }
  if (settings.allowedRedirects.length === 0) {
    problems.push(
      'OIDC_ALLOWED_REDIRECTS is required when OIDC_ISSUER_URL is set (where the client app gets its code)',
    );
  }
  return settings;
}
