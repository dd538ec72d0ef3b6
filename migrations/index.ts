import { CreateUsersAndSessions1764320000000 } from './1764320000000-CreateUsersAndSessions.js';

/** Every migration, in order. A landed migration is never edited: add a new one. */
export const MIGRATIONS = [CreateUsersAndSessions1764320000000];
