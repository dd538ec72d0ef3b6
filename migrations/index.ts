import { CreateUsersAndSessions1764320000000 } from './1764320000000-CreateUsersAndSessions.js';
import { CreateDocuments1764330000000 } from './1764330000000-CreateDocuments.js';
import { UniqueUsernames1764340000000 } from './1764340000000-UniqueUsernames.js';
import { NaturalTitleOrder1764350000000 } from './1764350000000-NaturalTitleOrder.js';
import { RetiredRefreshTokens1764412000000 } from './1764412000000-RetiredRefreshTokens.js';
import { CreateAccountLifecycle1764420000000 } from './1764420000000-CreateAccountLifecycle.js';
import { CreateOidcIdentities1764430000000 } from './1764430000000-CreateOidcIdentities.js';
import { CreateMfaAndAccessTokens1764440000000 } from './1764440000000-CreateMfaAndAccessTokens.js';
import { DocumentStorage1764450000000 } from './1764450000000-DocumentStorage.js';
import { TrashAndPdfText1764460000000 } from './1764460000000-TrashAndPdfText.js';
import { CreateSharing1764470000000 } from './1764470000000-CreateSharing.js';

/** Every migration, in order. A landed migration is never edited: add a new one. */
export const MIGRATIONS = [
  CreateUsersAndSessions1764320000000,
  CreateDocuments1764330000000,
  UniqueUsernames1764340000000,
  NaturalTitleOrder1764350000000,
  RetiredRefreshTokens1764412000000,
  CreateAccountLifecycle1764420000000,
  CreateOidcIdentities1764430000000,
  CreateMfaAndAccessTokens1764440000000,
  DocumentStorage1764450000000,
  TrashAndPdfText1764460000000,
  CreateSharing1764470000000,
];
