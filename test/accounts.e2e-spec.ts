import { DataSource } from 'typeorm';
import { type TestApp, startTestApp } from './support/app.js';
import { type Account, bearer, logIn, makeAdmin, signUp } from './support/auth.js';
import { createTestDatabase } from './support/database.js';
import { realPostgres } from './support/env.js';
import { spawnNode } from './support/process.js';
import { SmtpSink } from './support/smtp.js';

const PUBLIC_URL = 'https://app.example.test';
const INVALID_TOKEN = 'urn:ultrai:problem:invalid-token';

/** A problem's body without what differs per request. */
function problemOf(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }) {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const { requestId: _requestId, instance: _instance, ...rest } = res.body;
  return { status: res.status, ...rest };
}

const db = (t: TestApp) => t.app.get(DataSource);

describe('account lifecycle over SMTP', () => {
  let sink: SmtpSink;
  let t: TestApp;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await startTestApp({
      env: {
        SMTP_URL: sink.url,
        MAIL_FROM: 'UltrAI <no-reply@ultrai.test>',
        PUBLIC_URL,
        ACCOUNT_RATE_LIMIT_MAX: '1000000',
      },
      logs: { level: 'debug', json: true },
    });
  });
  afterAll(async () => {
    await t.close();
    await sink.down();
  });

  it('register mails a verification link over STARTTLS; following it verifies the address once', async () => {
    const me = await signUp(t, { email: `o'neil&co.${Date.now()}@example.com` });
    const mail = await sink.mail(me.email, 1);
    expect(mail.secure).toBe(true);
    expect(mail.from).toBe('no-reply@ultrai.test');
    expect(mail.subject).toBe('Confirm your email address for UltrAI');
    expect(mail.link).toBe(`${PUBLIC_URL}/verify-email?token=${mail.token}`);
    expect(mail.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // What the user chose is escaped in the HTML part, plain in the text part.
    expect(mail.body).toContain(
      `<p>Open this link to confirm that ${me.email.replace('&', '&amp;').replace("'", '&#39;')} is`,
    );
    expect(mail.body).toContain(`Open this link to confirm that ${me.email} is`);

    expect((await t.http.get('/users/me').set(bearer(me.access)).expect(200)).body.emailVerified).toBe(false);
    await t.http.post('/auth/email/verify').send({ token: mail.token }).expect(204);
    expect((await t.http.get('/users/me').set(bearer(me.access)).expect(200)).body.emailVerified).toBe(true);

    const again = await t.http.post('/auth/email/verify').send({ token: mail.token });
    expect(problemOf(again)).toMatchObject({ status: 400, type: INVALID_TOKEN });
    // Only the hash is stored.
    const stored = await db(t).query('SELECT token_hash FROM account_tokens');
    expect(JSON.stringify(stored)).not.toContain(mail.token!);
  });

  it('answers used, expired, unknown, forged and malformed tokens with one and the same 400', async () => {
    const me = await signUp(t);
    const { token } = await sink.mail(me.email, 1);
    await db(t).query(`UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [me.id]);
    const expired = await t.http.post('/auth/email/verify').send({ token });
    const unknown = await t.http.post('/auth/email/verify').send({ token: 'A'.repeat(43) });
    const forged = await t.http.post('/auth/email/verify').send({ token: `${token!.slice(0, 42)}x` });
    const malformed = await t.http.post('/auth/email/verify').send({ token: 'not a token' });
    const resetKind = await t.http.post('/auth/password/reset').send({ token, password: 'another long password' });
    const expected = problemOf(expired);
    expect(expected).toEqual({
      status: 400,
      type: INVALID_TOKEN,
      title: 'Bad Request',
      detail: 'This link is not valid: it was used already, has expired, or is wrong.',
    });
    for (const res of [unknown, forged, malformed, resetKind]) expect(problemOf(res)).toEqual(expected);
    expect((await t.http.get('/users/me').set(bearer(me.access)).expect(200)).body.emailVerified).toBe(false);
  });

  it('resend replaces the previous link, and is a 409 once verified', async () => {
    const me = await signUp(t);
    const first = await sink.mail(me.email, 1);
    const res = await t.http.post('/auth/email/verify/resend').set(bearer(me.access)).expect(202);
    expect(res.body).toEqual({ status: 'accepted' });
    const second = await sink.mail(me.email, 2);
    expect(second.token).not.toBe(first.token);
    expect((await t.http.post('/auth/email/verify').send({ token: first.token })).status).toBe(400);
    await t.http.post('/auth/email/verify').send({ token: second.token }).expect(204);
    const done = await t.http.post('/auth/email/verify/resend').set(bearer(me.access));
    expect(problemOf(done)).toMatchObject({ status: 409, type: 'urn:ultrai:problem:email-already-verified' });
    await t.http.post('/auth/email/verify/resend').expect(401);
  });

  it('forgot answers the same 202 whether or not the account exists, and mails only a real one', async () => {
    const me = await signUp(t);
    const known = await t.http.post('/auth/password/forgot').send({ email: me.email.toUpperCase() });
    const unknown = await t.http.post('/auth/password/forgot').send({ email: `nobody.${me.email}` });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(known.body).toEqual(unknown.body);
    expect(known.text).toBe(unknown.text);
    expect(known.headers['content-type']).toBe(unknown.headers['content-type']);
    const reset = await sink.mail(me.email, 2);
    expect(reset.subject).toBe('Reset your UltrAI password');
    expect(reset.link).toBe(`${PUBLIC_URL}/reset-password?token=${reset.token}`);
    // The unknown address got nothing, even after the known one's mail arrived.
    await t.app.get((await import('../src/mail/mail-sender.js')).MailSender).drain();
    expect(sink.to(`nobody.${me.email}`)).toEqual([]);
  });

  it('reset sets the new password, signs out every session, mails a notice, and works once', async () => {
    const me = await signUp(t);
    const other = await logIn(t, me.email, me.password);
    await t.http.post('/auth/password/forgot').send({ email: me.email }).expect(202);
    const { token } = await sink.mail(me.email, 2);
    await t.http.post('/auth/password/reset').send({ token, password: 'a brand new passphrase' }).expect(204);

    await t.http.get('/users/me').set(bearer(me.access)).expect(401);
    await t.http.get('/users/me').set(bearer(other.access)).expect(401);
    await t.http.post('/auth/refresh').send({ refresh_token: other.refresh }).expect(401);
    await t.http.post('/auth/login').send({ email: me.email, password: me.password }).expect(401);
    const fresh = await logIn(t, me.email, 'a brand new passphrase');
    // The link came through the mailbox, so the address counts as verified.
    expect((await t.http.get('/users/me').set(bearer(fresh.access)).expect(200)).body.emailVerified).toBe(true);

    const notice = await sink.mail(me.email, 3);
    expect(notice.subject).toBe('Your UltrAI password was reset');
    expect(notice.token).toBeUndefined();

    const reused = await t.http.post('/auth/password/reset').send({ token, password: 'yet another passphrase' });
    expect(problemOf(reused)).toMatchObject({ status: 400, type: INVALID_TOKEN });
  });

  it('refuses a too-short new password with a 400 naming the field, and keeps the token', async () => {
    const me = await signUp(t);
    await t.http.post('/auth/password/forgot').send({ email: me.email }).expect(202);
    const { token } = await sink.mail(me.email, 2);
    const short = await t.http.post('/auth/password/reset').send({ token, password: 'short' });
    expect(problemOf(short)).toMatchObject({ status: 400, errors: [{ field: 'password' }] });
    await t.http.post('/auth/password/reset').send({ token, password: 'long enough now' }).expect(204);
  });

  it('a password change kills the reset link', async () => {
    const me = await signUp(t);
    await t.http.post('/auth/password/forgot').send({ email: me.email }).expect(202);
    const { token } = await sink.mail(me.email, 2);
    await t.http
      .put('/users/me/password')
      .set(bearer(me.access))
      .send({ currentPassword: me.password, newPassword: 'changed the usual way' })
      .expect(204);
    const res = await t.http.post('/auth/password/reset').send({ token, password: 'attacker chosen pass' });
    expect(problemOf(res)).toMatchObject({ status: 400, type: INVALID_TOKEN });
    await logIn(t, me.email, 'changed the usual way');
  });

  it('email change: confirmation to the new address, notice to the old one, applied on confirmation', async () => {
    const me = await signUp(t);
    const newEmail = `new.${me.email}`;
    const wrong = await t.http
      .put('/users/me/email')
      .set(bearer(me.access))
      .send({ email: newEmail, password: 'not the password' });
    expect(problemOf(wrong)).toMatchObject({ status: 403, type: 'urn:ultrai:problem:wrong-password' });
    const same = await t.http
      .put('/users/me/email')
      .set(bearer(me.access))
      .send({ email: me.email, password: me.password });
    expect(problemOf(same)).toMatchObject({ status: 400, errors: [{ field: 'email' }] });

    const res = await t.http
      .put('/users/me/email')
      .set(bearer(me.access))
      .send({ email: ` ${newEmail.toUpperCase()} `, password: me.password })
      .expect(202);
    expect(res.body).toEqual({ status: 'accepted' });
    const confirm = await sink.mail(newEmail, 1);
    expect(confirm.subject).toBe('Confirm your new email address for UltrAI');
    const notice = await sink.mail(me.email, 2);
    expect(notice.subject).toBe('A change of your UltrAI email address was requested');
    expect(notice.token).toBeUndefined();
    // Nothing changes before the link is used.
    expect((await t.http.get('/users/me').set(bearer(me.access)).expect(200)).body.email).toBe(me.email);

    await t.http.post('/auth/email/verify').send({ token: confirm.token }).expect(204);
    const after = (await t.http.get('/users/me').set(bearer(me.access)).expect(200)).body;
    expect(after).toMatchObject({ email: newEmail, emailVerified: true });
    await logIn(t, newEmail, me.password);
    await t.http.post('/auth/login').send({ email: me.email, password: me.password }).expect(401);
    expect((await t.http.post('/auth/email/verify').send({ token: confirm.token })).status).toBe(400);
  });

  it('email change to an address taken meanwhile: 202 at the request, 409 at confirmation', async () => {
    const me = await signUp(t);
    const taken = await signUp(t);
    await t.http
      .put('/users/me/email')
      .set(bearer(me.access))
      .send({ email: taken.email, password: me.password })
      .expect(202);
    const confirm = await sink.mail(taken.email, 2);
    const res = await t.http.post('/auth/email/verify').send({ token: confirm.token });
    expect(problemOf(res)).toMatchObject({ status: 409, type: 'urn:ultrai:problem:email-taken' });
    expect((await t.http.get('/users/me').set(bearer(me.access)).expect(200)).body.email).toBe(me.email);
  });

  describe('audit log', () => {
    let owner: Account;
    let stranger: Account;
    let admin: Account;

    beforeAll(async () => {
      owner = await signUp(t);
      stranger = await signUp(t);
      admin = await signUp(t);
      await makeAdmin(t, admin.id);
      await t.http.post('/auth/login').send({ email: owner.email, password: 'wrong password!' }).expect(401);
      await t.http.post('/auth/password/forgot').send({ email: owner.email }).expect(202);
      const { token } = await sink.mail(owner.email, 2);
      await t.http.post('/auth/password/reset').send({ token, password: 'the reset password' }).expect(204);
      owner = { ...owner, password: 'the reset password', ...(await logIn(t, owner.email, 'the reset password')) };
      await t.http.get(`/users/${owner.id}`).set(bearer(admin.access)).expect(200);
      await t.http.patch(`/users/${owner.id}`).set(bearer(admin.access)).send({ role: 'admin' }).expect(200);
      await t.http.patch(`/users/${owner.id}`).set(bearer(admin.access)).send({ role: 'user' }).expect(200);
    });

    it('records each action for its owner, newest first, with the client and request id', async () => {
      const res = await t.http
        .get('/users/me/audit')
        .set(bearer(owner.access))
        .set('user-agent', 'audit-test/1.0')
        .expect(200);
      const types = res.body.items.map((e: { type: string }) => e.type);
      expect(types).toEqual([
        'user.role-changed',
        'user.role-changed',
        'admin.read-user',
        'login.succeeded',
        'password.reset',
        'password.reset-requested',
        'login.failed',
        'login.succeeded',
        'email.verification-sent',
        'user.registered',
      ]);
      const [demoted, , read] = res.body.items;
      expect(demoted).toMatchObject({ userId: owner.id, actorId: admin.id, details: { from: 'admin', to: 'user' } });
      expect(read).toMatchObject({ userId: owner.id, actorId: admin.id });
      const failed = res.body.items[6];
      expect(failed).toMatchObject({ actorId: null, details: { reason: 'wrong-password' } });
      expect(failed.ip).toMatch(/127\.0\.0\.1/);
      expect(failed.requestId).toEqual(expect.any(String));
    });

    it('pages with a cursor', async () => {
      const first = await t.http.get('/users/me/audit?limit=4').set(bearer(owner.access)).expect(200);
      expect(first.body.items).toHaveLength(4);
      const second = await t.http
        .get(`/users/me/audit?limit=4&cursor=${first.body.nextCursor}`)
        .set(bearer(owner.access))
        .expect(200);
      expect(second.body.items[0].id).not.toBe(first.body.items[3].id);
      expect(second.body.items).toHaveLength(4);
      await t.http.get('/users/me/audit?cursor=garbage').set(bearer(owner.access)).expect(400);
    });

    it('shows a user only their own events, and all of them to administrators', async () => {
      const mine = await t.http.get('/users/me/audit').set(bearer(stranger.access)).expect(200);
      expect(mine.body.items.every((e: { userId: string }) => e.userId === stranger.id)).toBe(true);
      const denied = await t.http.get(`/admin/audit?userId=${owner.id}`).set(bearer(stranger.access));
      expect(problemOf(denied)).toMatchObject({ status: 403 });
      await t.http.get('/admin/audit').expect(401);

      const all = await t.http
        .get(`/admin/audit?userId=${owner.id}&type=login.failed`)
        .set(bearer(admin.access))
        .expect(200);
      expect(all.body.items).toHaveLength(1);
      expect(all.body.items[0]).toMatchObject({ userId: owner.id, type: 'login.failed' });
      const future = await t.http
        .get(`/admin/audit?userId=${owner.id}&from=2999-01-01T00:00:00Z`)
        .set(bearer(admin.access))
        .expect(200);
      expect(future.body.items).toEqual([]);
      const bad = await t.http.get('/admin/audit?type=nonsense&from=yesterday').set(bearer(admin.access));
      expect(problemOf(bad)).toMatchObject({ status: 400 });
    });

    it("records an administrator's reads of another user's documents for that user", async () => {
      const created = await t.http
        .post('/documents')
        .set(bearer(stranger.access))
        .send({ title: 'private notes', content: 'mine alone' })
        .expect(201);
      const id = created.body.id as string;
      await t.http.get(`/documents?owner=${stranger.id}`).set(bearer(admin.access)).expect(200);
      await t.http.get(`/documents/${id}`).set(bearer(admin.access)).expect(200);
      await t.http.get(`/documents/${id}/content`).set(bearer(admin.access)).expect(200);
      // The owner's own reads are not recorded.
      await t.http.get(`/documents/${id}`).set(bearer(stranger.access)).expect(200);

      const res = await t.http.get('/users/me/audit?limit=3').set(bearer(stranger.access)).expect(200);
      expect(res.body.items.map((e: { type: string }) => e.type)).toEqual([
        'admin.read-document',
        'admin.read-document',
        'admin.read-documents',
      ]);
      expect(res.body.items[0]).toMatchObject({ userId: stranger.id, actorId: admin.id, details: { documentId: id } });
    });

    it('an unknown email at login is recorded for administrators without the address typed', async () => {
      await t.http.post('/auth/login').send({ email: 'ghost@example.com', password: 'hunter2hunter2' }).expect(401);
      const res = await t.http.get('/admin/audit?type=login.failed').set(bearer(admin.access)).expect(200);
      expect(res.body.items[0]).toMatchObject({ userId: null, details: {} });
      expect(JSON.stringify(res.body)).not.toContain('ghost@example.com');
    });
  });

  it('never writes a token, a password or a password hash to the logs, the audit log or the kept outbox', async () => {
    const me = await signUp(t, { password: 'secret-password-in-log-test' });
    const verify = await sink.mail(me.email, 1);
    await t.http.post('/auth/password/forgot').send({ email: me.email }).expect(202);
    const reset = await sink.mail(me.email, 2);
    await t.http.post('/auth/password/reset').send({ token: reset.token, password: 'new-secret-in-log-test' });
    await t.http.post('/auth/email/verify').send({ token: verify.token });
    await sink.mail(me.email, 3);
    const [{ password_hash: hash }] = await db(t).query('SELECT password_hash FROM users WHERE id = $1', [me.id]);
    const audit = JSON.stringify(await db(t).query('SELECT * FROM audit_events'));
    const outbox = JSON.stringify(await db(t).query(`SELECT * FROM mail_outbox WHERE status = 'sent'`));
    for (const secret of [verify.token!, reset.token!, 'secret-password-in-log-test', 'new-secret-in-log-test', hash]) {
      expect(t.logs.join('')).not.toContain(secret);
      expect(audit).not.toContain(secret);
      expect(outbox).not.toContain(secret);
    }
    expect(t.logs.length).toBeGreaterThan(0);
  });
});

describe('REQUIRE_VERIFIED_EMAIL=true', () => {
  let sink: SmtpSink;
  let t: TestApp;
  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await startTestApp({ env: { SMTP_URL: sink.url, REQUIRE_VERIFIED_EMAIL: 'true' } });
  });
  afterAll(async () => {
    await t.close();
    await sink.down();
  });

  it('lets an unverified account log in and read, refuses document writes with 403, allows them once verified', async () => {
    const me = await signUp(t);
    await t.http.get('/documents').set(bearer(me.access)).expect(200);
    const refused = await t.http.post('/documents').set(bearer(me.access)).send({ title: 'note', content: 'hello' });
    expect(problemOf(refused)).toMatchObject({ status: 403, type: 'urn:ultrai:problem:email-not-verified' });
    const { token } = await sink.mail(me.email, 1);
    await t.http.post('/auth/email/verify').send({ token }).expect(204);
    await t.http.post('/documents').set(bearer(me.access)).send({ title: 'note', content: 'hello' }).expect(201);
  });
});

describe('account rate limits', () => {
  let sink: SmtpSink;
  let t: TestApp;
  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await startTestApp({ env: { SMTP_URL: sink.url, ACCOUNT_RATE_LIMIT_MAX: '2', TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await t.close();
    await sink.down();
  });

  it('limits forgot per email address, whatever the IP, with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.http
        .post('/auth/password/forgot')
        .set('x-forwarded-for', `203.0.113.${i + 1}`)
        .send({ email: 'Target@Example.com' });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(problemOf(res)).toMatchObject({ type: 'urn:ultrai:problem:rate-limited' });
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([202, 202, 429]);
  });

  it('limits each route per IP, whatever the address or token', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.20' };
    const forgot = [];
    for (let i = 0; i < 3; i++) {
      forgot.push(
        (
          await t.http
            .post('/auth/password/forgot')
            .set(ip)
            .send({ email: `a${i}@example.com` })
        ).status,
      );
    }
    expect(forgot).toEqual([202, 202, 429]);
    const verify = [];
    for (let i = 0; i < 3; i++) {
      verify.push(
        (
          await t.http
            .post('/auth/email/verify')
            .set(ip)
            .send({ token: 'A'.repeat(43) })
        ).status,
      );
    }
    expect(verify).toEqual([400, 400, 429]);
    const reset = [];
    for (let i = 0; i < 3; i++) {
      reset.push(
        (
          await t.http
            .post('/auth/password/reset')
            .set(ip)
            .send({ token: 'A'.repeat(43), password: 'long enough x' })
        ).status,
      );
    }
    expect(reset).toEqual([400, 400, 429]);
    // another IP still has its own count
    await t.http
      .post('/auth/email/verify')
      .set({ 'x-forwarded-for': '198.51.100.21' })
      .send({ token: 'A'.repeat(43) })
      .expect(400);
  });

  it('limits resend per account', async () => {
    const me = await signUp(t);
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (
          await t.http
            .post('/auth/email/verify/resend')
            .set(bearer(me.access))
            .set('x-forwarded-for', `192.0.2.${i + 1}`)
        ).status,
      );
    }
    expect(statuses).toEqual([202, 202, 429]);
  });
});

describe('mail delivery', () => {
  it('an SMTP outage loses nothing: mails wait, are retried with backoff, and arrive once when it is back', async () => {
    const sink = await SmtpSink.start();
    await sink.down();
    const t = await startTestApp({
      env: { SMTP_URL: sink.url, MAIL_RETRY_BASE_MS: '50', MAIL_POLL_INTERVAL_MS: '50' },
    });
    try {
      const me = await signUp(t);
      // Wait until the sender has failed a few times, with the cause recorded.
      let row: { status: string; attempts: number; last_error: string } | undefined;
      for (;;) {
        [row] = await db(t).query('SELECT status, attempts, last_error FROM mail_outbox WHERE recipient = $1', [
          me.email,
        ]);
        if (row && row.attempts >= 3) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(row).toMatchObject({ status: 'pending', last_error: expect.stringMatching(/ECONNECTION|ESOCKET/) });
      await sink.up();
      const mail = await sink.mail(me.email, 1);
      await t.http.post('/auth/email/verify').send({ token: mail.token }).expect(204);
      const [sent] = await db(t).query('SELECT status, text_body FROM mail_outbox WHERE recipient = $1', [me.email]);
      expect(sent).toEqual({ status: 'sent', text_body: null });
      expect(sink.to(me.email)).toHaveLength(1);
    } finally {
      await t.close();
      await sink.down();
    }
  });

  it('a permanent refusal (550) is recorded and not retried', async () => {
    const sink = await SmtpSink.start();
    const t = await startTestApp({ env: { SMTP_URL: sink.url, MAIL_RETRY_BASE_MS: '10' } });
    const { MailSender } = await import('../src/mail/mail-sender.js');
    try {
      sink.refuse.add('bounce@example.com');
      await signUp(t, { email: 'bounce@example.com' });
      const sender = t.app.get(MailSender);
      await sender.drain();
      await sender.drain();
      const [row] = await db(t).query(
        `SELECT status, attempts, last_error FROM mail_outbox WHERE recipient = 'bounce@example.com'`,
      );
      expect(row).toMatchObject({ status: 'failed', attempts: 1, last_error: expect.stringMatching(/^550/) });
      expect(sink.messages).toEqual([]);
    } finally {
      await t.close();
      await sink.down();
    }
  });

  if (realPostgres) {
    it('two instances draining one outbox send each mail exactly once', async () => {
      const sink = await SmtpSink.start();
      const shared = await createTestDatabase();
      const env = { SMTP_URL: sink.url, MAIL_POLL_INTERVAL_MS: '20' };
      const a = await startTestApp({ db: shared, env });
      const b = await startTestApp({ db: shared, env });
      try {
        const recipients = Array.from({ length: 60 }, (_, i) => `many${i}@example.com`);
        await db(a).query(
          `INSERT INTO mail_outbox (kind, recipient, subject, text_body, html_body)
           SELECT 'verify-email', r, 'hello', 'text', '<p>html</p>' FROM unnest($1::text[]) AS r`,
          [recipients],
        );
        await Promise.all(recipients.map((r) => sink.mail(r, 1)));
        const { MailSender } = await import('../src/mail/mail-sender.js');
        await Promise.all([a.app.get(MailSender).drain(), b.app.get(MailSender).drain()]);
        expect(sink.messages).toHaveLength(60);
        expect(new Set(sink.messages.map((m) => m.to[0])).size).toBe(60);
        const [{ sent }] = await db(a).query(`SELECT count(*)::int AS sent FROM mail_outbox WHERE status = 'sent'`);
        expect(sent).toBe(60);
      } finally {
        await a.close();
        await b.close();
        await shared.drop();
        await sink.down();
      }
    });

    it('production without SMTP_URL starts, says mail is off, and answers 503 where mail is needed', async () => {
      const t = await startTestApp({
        env: { NODE_ENV: 'production', SMTP_URL: '', LOG_LEVEL: 'warn' },
        logs: { level: 'warn', json: true },
      });
      try {
        expect(t.logs.join('')).toContain('MAIL IS OFF');
        const me = await signUp(t);
        const forgot = await t.http.post('/auth/password/forgot').send({ email: me.email });
        expect(problemOf(forgot)).toMatchObject({ status: 503, type: 'urn:ultrai:problem:service-unavailable' });
        const resend = await t.http.post('/auth/email/verify/resend').set(bearer(me.access));
        expect(resend.status).toBe(503);
        const change = await t.http
          .put('/users/me/email')
          .set(bearer(me.access))
          .send({ email: `x.${me.email}`, password: me.password });
        expect(change.status).toBe(503);
        const [{ count }] = await db(t).query('SELECT count(*)::int AS count FROM mail_outbox');
        expect(count).toBe(0);
      } finally {
        await t.close();
      }
    });
  }
});

describe('development without SMTP_URL', () => {
  it('logs each mail (subject and link), keeps it in the outbox, and mail:outbox prints it', async () => {
    const shared = await createTestDatabase();
    const t = await startTestApp({ db: shared, env: { PUBLIC_URL }, logs: { level: 'info', json: false } });
    const { MailSender } = await import('../src/mail/mail-sender.js');
    let email: string;
    try {
      ({ email } = await signUp(t));
      await t.app.get(MailSender).drain();
      const line = t.logs.find((l) => l.includes('Mail not sent'));
      expect(line).toContain('"Confirm your email address for UltrAI"');
      expect(line).not.toContain(email);
      const token = new RegExp(`${PUBLIC_URL}/verify-email\\?token=([A-Za-z0-9_-]{43})`).exec(line!)?.[1];
      await t.http.post('/auth/email/verify').send({ token }).expect(204);
    } finally {
      await t.close();
    }
    try {
      const cli = spawnNode(['dist/cli.js', 'mail:outbox'], shared.env);
      expect((await cli.exit).code).toBe(0);
      expect(cli.output()).toMatch(
        new RegExp(
          `logged +verify-email +to ${email.replace('.', '\\.')}\\n +Confirm your email address for UltrAI\\n +${PUBLIC_URL}/verify-email\\?token=`,
        ),
      );
      const usage = spawnNode(['dist/cli.js', 'mail:outbox', 'many'], shared.env);
      expect((await usage.exit).code).toBe(2);
    } finally {
      await shared.drop();
    }
  });
});

describe('audit retention', () => {
  it('prunes events older than AUDIT_RETENTION_DAYS and keeps the rest', async () => {
    const t = await startTestApp({ env: { AUDIT_RETENTION_DAYS: '30' } });
    const { AuditPruner } = await import('../src/audit/audit-pruner.js');
    try {
      const me = await signUp(t);
      await db(t).query(
        `INSERT INTO audit_events (user_id, actor_id, type, created_at) VALUES ($1, $1, 'logout', now() - interval '31 days')`,
        [me.id],
      );
      expect(await t.app.get(AuditPruner).prune()).toBe(1);
      const res = await t.http.get('/users/me/audit').set(bearer(me.access)).expect(200);
      expect(res.body.items.map((e: { type: string }) => e.type)).toEqual([
        'login.succeeded',
        'email.verification-sent',
        'user.registered',
      ]);
      if (realPostgres) {
        // Another instance holding the pruning lock: this one skips the round instead of waiting.
        const holder = t.app.get(DataSource).createQueryRunner();
        await holder.connect();
        try {
          await holder.query('BEGIN');
          await holder.query('SELECT pg_advisory_xact_lock(7140001)');
          expect(await t.app.get(AuditPruner).prune()).toBeUndefined();
        } finally {
          await holder.query('ROLLBACK');
          await holder.release();
        }
      }
    } finally {
      await t.close();
    }
  });
});
