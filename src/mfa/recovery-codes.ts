import { createHash, randomInt } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford-like: no 0/O, 1/I/L to misread on paper. */
const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
/** 16 characters of 31: about 79 bits, beyond guessing even from a stolen table of SHA-256 hashes. */
const LENGTH = 16;

/** `xxxx-xxxx-xxxx-xxxx`. */
export function newRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code.match(/.{4}/g)!.join('-');
}

/** As typed: any case, with or without the dashes and spaces. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(code.toLowerCase().replace(/[\s-]/g, '')).digest('hex');
}
