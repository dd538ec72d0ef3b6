import { Injectable } from '@nestjs/common';
import argon2 from 'argon2';

import { ARGON2_OPTIONS as OPTIONS } from './password-params.js';

@Injectable()
export class PasswordService {
  /**
   * Verified against when the email is unknown, so that a login takes the
   * same time whether or not the account exists. Made once, in the
   * background, at start.
   */
  private readonly dummyHash: Promise<string> = argon2.hash('not-a-real-password', OPTIONS);

  hash(password: string): Promise<string> {
    return argon2.hash(password, OPTIONS);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  /** Spends the time of a real verification and always fails. */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
