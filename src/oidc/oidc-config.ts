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

interface Readers {
  read(name: string): string | undefined;
  url(name: string, protocols: string[]): string | undefined;
  problems: string[];
  production: boolean;
}

export function readOidcConfig({ read, url, problems, production }: Readers): OidcConfig {
  // Plain http only outside production (a provider on localhost in development and tests).
  const issuerUrl = url('OIDC_ISSUER_URL', production ? ['https:'] : ['https:', 'http:']);
  const clientId = read('OIDC_CLIENT_ID');
  const scopes = (read('OIDC_SCOPES') ?? 'openid email profile').split(/\s+/).join(' ');
  const allowedRedirects: string[] = [];
  for (const entry of (read('OIDC_ALLOWED_REDIRECTS') ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    if (isRedirectTarget(entry)) allowedRedirects.push(entry);
    else
      problems.push(`OIDC_ALLOWED_REDIRECTS entries must be absolute http(s) URLs without a fragment (got "${entry}")`);
  }
  if (read('OIDC_ISSUER_URL') !== undefined) {
    if (clientId === undefined) problems.push('OIDC_CLIENT_ID is required when OIDC_ISSUER_URL is set');
    if (!scopes.split(' ').includes('openid')) problems.push(`OIDC_SCOPES must include openid (got "${scopes}")`);
    if (allowedRedirects.length === 0) {
      problems.push(
        'OIDC_ALLOWED_REDIRECTS is required when OIDC_ISSUER_URL is set (where the client app gets its code)',
      );
    }
  }
  return {
    issuerUrl,
    clientId,
    clientSecret: read('OIDC_CLIENT_SECRET'),
    scopes,
    name: read('OIDC_NAME') ?? 'OpenID Connect',
    allowedRedirects,
  };
}

function isRedirectTarget(value: string): boolean {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.hash === '' && !value.includes('#');
  } catch {
    return false;
  }
}
