/**
 * argon2id with one of OWASP's equivalent parameter sets (Password Storage Cheat
 * Sheet: 46 MiB/t=1, 19 MiB/t=2, 12 MiB/t=3, 9 MiB/t=4 or 7 MiB/t=5, each with one
 * lane, "an equal level of defense"). 7 MiB and 5 passes is the one that costs the
 * least here: its block fits in a shared cache and needs fewer page faults, so a
 * verification takes about 18 ms of CPU against 26 to 37 ms for 19 MiB (measured with
 * `npm run bench`), and each concurrent login holds 7 MiB, not 19.
 * Hashes made with other parameters still verify: they are stored in the hash.
 * `type` is argon2's `argon2id` (2), written out so that reading these options does not
 * load argon2 (password-params.spec.ts checks it is).
 */
export const ARGON2_OPTIONS = {
  type: 2,
  memoryCost: 7 * 1024,
  timeCost: 5,
  parallelism: 1,
} as const;

/**
 * What an unknown email's login is verified against, so that it takes the time of a
 * real verification (PasswordService.verifyDummy): a hash of a password nobody is
 * asked for, made once with ARGON2_OPTIONS (password-params.spec.ts checks that it
 * verifies and that argon2 would not rehash it with them; change both together). It
 * is no secret: verifyDummy fails whatever the password. Made at build time rather than
 * at every start, where it cost an argon2 hash (~20 ms of CPU) to every cold start.
 */
export const DUMMY_PASSWORD_HASH =
  '$argon2id$v=19$m=7168,p=1,t=5$beVeUu7RLEUZ4ClQG44s6g$fo1Vy6grwytxzdR5IObjbIUd4ehuBx8iiXZVVPvbeQU';
