import { createHmac, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { TestApp } from './app.js';

export interface Account {
  id: string;
  email: string;
  username: string;
  password: string;
  access: string;
  refresh: string;
}

let counter = 0;

/** Registers a fresh account and logs it in. */
export async function signUp(
  t: TestApp,
  overrides: Partial<{ email: string; username: string; password: string }> = {},
): Promise<Account> {
  counter += 1;
  const email = overrides.email ?? `user${counter}.${randomUUID().slice(0, 8)}@example.com`;
  const username = overrides.username ?? `user_${counter}`;
  const password = overrides.password ?? 'a long enough password';
  const registered = await t.http.post('/auth/register').send({ email, username, password }).expect(201);
  const tokens = await logIn(t, email, password);
  return { id: registered.body.id, email, username, password, ...tokens };
}

export async function logIn(t: TestApp, email: string, password: string): Promise<{ access: string; refresh: string }> {
  const res = await t.http.post('/auth/login').send({ email, password }).expect(200);
  return { access: res.body.access_token, refresh: res.body.refresh_token };
}

export async function makeAdmin(t: TestApp, userId: string): Promise<void> {
  await t.app.get(DataSource).query(`UPDATE users SET role = 'admin' WHERE id = $1`, [userId]);
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const b64url = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Builds a JWT by hand, to present tokens the service must refuse. */
export function craftJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: string,
  hmac: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): string {
  const unsigned = `${b64url(header)}.${b64url(payload)}`;
  if (header.alg === 'none') return `${unsigned}.`;
  return `${unsigned}.${createHmac(hmac, secret).update(unsigned).digest('base64url')}`;
}

export function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}
