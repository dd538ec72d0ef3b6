import { Session } from '../sessions/session.entity.js';
import { Document } from '../documents/document.entity.js';
import { User } from '../users/user.entity.js';

/** Every entity, listed explicitly (no globs): adding one means adding it here. */
export const ENTITIES: Function[] = [User, Session, Document];
