import { startTestApp, type TestApp } from './support/app.js';
import { bearer, signUp } from './support/auth.js';

describe('usernames are unique regardless of case', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('register answers 409 problem+json for a name taken in another casing, and stores nothing', async () => {
    await signUp(t, { username: 'Ada.Lovelace' });
    const res = await t.http
      .post('/auth/register')
      .send({ email: 'second-ada@example.com', username: 'ada.lovelace', password: 'a long enough password' })
      .expect(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 409, type: 'urn:ultrai:problem:username-taken' });
    expect(res.body.detail).toMatch(/username/i);
    await t.http
      .post('/auth/login')
      .send({ email: 'second-ada@example.com', password: 'a long enough password' })
      .expect(401);
  });

  it('PATCH /users/me answers 409 for another account’s name, and lets you change the case of your own', async () => {
    await signUp(t, { username: 'grace_h' });
    const me = await signUp(t, { username: 'someone_else' });
    const res = await t.http.patch('/users/me').set(bearer(me.access)).send({ username: 'GRACE_H' }).expect(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 409, type: 'urn:ultrai:problem:username-taken' });
    expect((await t.http.get('/users/me').set(bearer(me.access))).body.username).toBe('someone_else');
    const own = await t.http.patch('/users/me').set(bearer(me.access)).send({ username: 'Someone_Else' }).expect(200);
    expect(own.body.username).toBe('Someone_Else');
  });
});
