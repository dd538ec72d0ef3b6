import argon2 from 'argon2';

import { ARGON2_OPTIONS, DUMMY_PASSWORD_HASH } from './password-params.js';
import { PasswordService } from './password.service.js';

describe('password hashing parameters', () => {
  it('name argon2id by the value argon2 gives it', () => {
    expect(ARGON2_OPTIONS.type).toBe(argon2.argon2id);
  });

  it('made the dummy hash: argon2 would not rehash it, so verifying it costs what a real one does', async () => {
    expect(argon2.needsRehash(DUMMY_PASSWORD_HASH, ARGON2_OPTIONS)).toBe(false);
    expect(await argon2.verify(DUMMY_PASSWORD_HASH, 'not-a-real-password')).toBe(true);
    const fresh = await argon2.hash('anything', ARGON2_OPTIONS);
    expect(fresh.split('$').slice(0, 4)).toEqual(DUMMY_PASSWORD_HASH.split('$').slice(0, 4));
  });

  it('make a dummy verification fail, even with the password it was made from', async () => {
    const passwords = new PasswordService();
    expect(await passwords.verifyDummy('not-a-real-password')).toBe(false);
    expect(await passwords.verify(DUMMY_PASSWORD_HASH, 'not-a-real-password')).toBe(true);
  });

  it('hash with the options and verify what they hashed', async () => {
    const passwords = new PasswordService();
    const hash = await passwords.hash('correct horse battery staple');
    expect(argon2.needsRehash(hash, ARGON2_OPTIONS)).toBe(false);
    expect(await passwords.verify(hash, 'correct horse battery staple')).toBe(true);
    expect(await passwords.verify(hash, 'correct horse battery stapler')).toBe(false);
    expect(await passwords.verify('not a hash', 'x')).toBe(false);
  });
});
