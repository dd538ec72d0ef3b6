import { CreateUsersAndSessions1764320000000 } from './1764320000000-CreateUsersAndSessions.js';
import { CreateDocuments1764330000000 } from './1764330000000-CreateDocuments.js';
import { CreateAccountLifecycle1764400000000 } from './1764400000000-CreateAccountLifecycle.js';

/** Every migration, in order. A landed migration is never edited: add a new one. */
export const MIGRATIONS = [
  CreateUsersAndSessions1764320000000,
  CreateDocuments1764330000000,
  CreateAccountLifecycle1764400000000,
];
