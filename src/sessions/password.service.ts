import { Injectable } from '@nestjs/common';

import { ARGON2_OPTIONS as OPTIONS, DUMMY_PASSWORD_HASH } from './password-params.js';

type Argon2 = typeof import('argon2');
let argon2: Promise<Argon2> | undefined;
/**
 * argon2 (a native addon) is loaded with the first hash or verification, not at start:
 * most cold starts (a free instance woken by a request) serve no login.
 */
const loadArgon2 = (): Promise<Argon2> => (argon2 ??= import('argon2').then((module) => module.default ?? module));

@Injectable()
export class PasswordService {
  async hash(password: string): Promise<string> {
    return (await loadArgon2()).hash(password, OPTIONS);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await (await loadArgon2()).verify(hash, password);
    } catch {
      return false;
    }
  }

  /**
   * Spends the time of a real verification and always fails: what a login with an
   * unknown email does, so that it takes the same time whether or not the account exists.
   */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(DUMMY_PASSWORD_HASH, password);
    return false;
  }
}
