import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';
import { freePort } from './process.js';

/** What the test provider says about an account: its claims are set by the test. */
export interface ProviderAccount {
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
  /** Authentication methods the ID token reports (`amr`), as after a login with these. */
  amr?: string[];
}

export const TEST_CLIENT_ID = 'ultrai-test';
export const TEST_CLIENT_SECRET = 'ultrai-test-client-secret-0123456789abcdef';
/** The host the tests send to the API, so its callback URL is the one registered at the provider. */
export const API_HOST = 'api.test';
export const CALLBACK_URL = `http://${API_HOST}/auth/oidc/callback`;

/**
 * A real OpenID Provider (the certified `oidc-provider` package) on a free local
 * port, with one confidential client and accounts whose claims the test sets.
 * Its own development login form signs anyone in by account id.
 */
export class TestProvider {
  private server: Server | undefined;

  private constructor(
    readonly issuer: string,
    private readonly provider: Provider,
    private readonly port: number,
    private readonly accounts: Map<string, ProviderAccount>,
  ) {}

  /** `callbacks`: more redirect URIs to register (a spawned server's own, on its port). */
  static async start(callbacks: string[] = []): Promise<TestProvider> {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const accounts = new Map<string, ProviderAccount>();
    // Its start-up warnings (development keys and login form: what a test provider is for) are not news.
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (!String(args[0]).startsWith('oidc-provider WARNING')) warn(...args);
    };
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: TEST_CLIENT_ID,
          client_secret: TEST_CLIENT_SECRET,
          redirect_uris: [CALLBACK_URL, ...callbacks],
          response_types: ['code'],
          grant_types: ['authorization_code'],
        },
      ],
      claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['preferred_username'] },
      cookies: { keys: ['test-provider-cookie-key-0123456789'] },
      features: { devInteractions: { enabled: true } },
      ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
      // The account's amr is one of its claims, so the ID token reports it as the test sets it.
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({ sub: id, ...accounts.get(id) }),
      }),
    });
    console.warn = warn;
    // The login the development form finishes carries the account's methods too (the session's amr).
    const finish = provider.interactionFinished.bind(provider);
    provider.interactionFinished = (req, res, result, options) => {
      const login = (result as { login?: { accountId: string; amr?: string[] } }).login;
      if (login) login.amr = accounts.get(login.accountId)?.amr;
      return finish(req, res, result, options);
    };
    const op = new TestProvider(issuer, provider, port, accounts);
    await op.listen();
    return op;
  }

  /** Sets the claims of an account the test signs in as; returns its id (the login to type). */
  account(id: string, claims: ProviderAccount): string {
    this.accounts.set(id, claims);
    return id;
  }

  async listen(): Promise<void> {
    this.server = createServer(this.provider.callback());
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Down: connections refused from now on. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * A browser's part of the dance, with a plain HTTP client: follows the
 * provider's redirects with its cookies, submits its login and consent forms,
 * and stops at the first redirect that leaves the provider (our callback).
 */
export async function signInAtProvider(
  authorizationUrl: string,
  login: string,
  options: { cancel?: boolean } = {},
): Promise<URL> {
  const cookies = new Map<string, string>();
  const origin = new URL(authorizationUrl).origin;
  let next: { url: string; form?: URLSearchParams } = { url: authorizationUrl };
  for (let step = 0; step < 20; step++) {
    const response = await fetch(next.url, {
      method: next.form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(next.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: next.form?.toString(),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const location = response.headers.get('location');
    if (location) {
      const target = new URL(location, next.url);
      if (target.origin !== origin) return target;
      next = { url: target.href };
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`provider answered ${response.status}: ${html.slice(0, 300)}`);
    const action = new URL(formAction(html), next.url);
    // Cancelling is the page's "abort" link: the provider then answers access_denied.
    if (options.cancel) next = { url: `${action.href.replace(/\/$/, '')}/abort` };
    else next = { url: action.href, form: formFields(html, login) };
  }
  throw new Error('the provider never redirected back');
}

function formAction(html: string): string {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form on the provider's page: ${html.slice(0, 300)}`);
  return action.replaceAll('&amp;', '&');
}

/** The form's hidden fields, and the login form's account id and (any) password. */
function formFields(html: string, login: string): URLSearchParams {
  const form = new URLSearchParams();
  const form0 = html.slice(html.indexOf('<form'), html.indexOf('</form>'));
  for (const match of form0.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) {
    form.set(match[1], match[2]);
  }
  if (/name="login"/.test(form0)) form.set('login', login);
  if (/name="password"/.test(form0)) form.set('password', 'any password');
  return form;
}
