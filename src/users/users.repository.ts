import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, type Repository } from 'typeorm';
import { AppError } from '../common/problem.js';
import { returningRows } from '../database/returning.js';
import { type Role } from '../common/principal.js';
import { User } from './user.entity.js';

export interface UserListQuery {
  limit: number;
  q?: string;
  /** Keyset position: the last item of the previous page. */
  after?: { createdAt: string; id: string };
}

export const NOT_AN_ADMIN = Symbol('not an enabled administrator');

/** Raised when the unique index on lower(email) refuses an insert. */
export class DuplicateEmailError extends Error {}

/** Raised when the unique index on lower(username) refuses an insert or a rename: a 409 wherever it happens. */
export class UsernameTakenError extends AppError {
  constructor() {
    super(409, 'username-taken', 'This username is taken (usernames are compared ignoring case). Choose another.');
  }
}

/** Turns a unique violation into the error naming what is taken. */
function duplicateOf(error: unknown): Error {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } }).driverError;
  if (driverError?.code !== '23505') return error as Error;
  return driverError.constraint === 'users_username_key' ? new UsernameTakenError() : new DuplicateEmailError();
}

@Injectable()
export class UsersRepository {
  private readonly users: Repository<User>;

  constructor(private readonly dataSource: DataSource) {
    this.users = dataSource.getRepository(User);
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.createQueryBuilder('u').where('lower(u.email) = lower(:email)', { email }).getOne();
  }

  async create(
    values: { email: string; username: string; passwordHash: string; role?: Role },
    manager?: EntityManager,
  ): Promise<User> {
    const users = manager?.getRepository(User) ?? this.users;
    try {
      return await users.save(users.create(values));
    } catch (error) {
      throw duplicateOf(error);
    }
  }

  async update(
    id: string,
    values: Partial<Pick<User, 'username' | 'passwordHash' | 'role' | 'disabled'>>,
  ): Promise<User | null> {
    try {
      await this.users.update({ id }, values);
    } catch (error) {
      throw duplicateOf(error);
    }
    return this.findById(id);
  }

  /**
   * An administrator's change to another user, made only if the actor is still an
   * enabled administrator when it commits: every enabled administrator's row is
   * locked first (in id order, so two such changes queue instead of deadlocking),
   * so two administrators demoting, disabling or deleting each other at the same
   * moment cannot both succeed. The actor never targets themselves (the service
   * refuses that), so at least one enabled administrator, the actor, remains.
   * Returns NOT_AN_ADMIN when the actor lost the role or was disabled meanwhile.
   */
  async asEnabledAdmin<T>(
    actorId: string,
    change: (users: Repository<User>) => Promise<T>,
  ): Promise<T | typeof NOT_AN_ADMIN> {
    return this.dataSource.transaction(async (manager: EntityManager) => {
      const admins: Array<{ id: string }> = await manager.query(
        `SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE`,
      );
      if (!admins.some((admin) => admin.id === actorId)) return NOT_AN_ADMIN;
      return change(manager.getRepository(User));
    });
  }

  async setRoleByEmail(email: string, role: Role): Promise<User | null> {
    const user = await this.findByEmail(email);
    if (!user) return null;
    return this.update(user.id, { role });
  }

  /** Makes administrators of the accounts with these (lower-cased) emails; returns those it changed. */
  async promoteEmails(emails: string[]): Promise<string[]> {
    if (emails.length === 0) return [];
    const result: unknown = await this.users.query(
      `UPDATE users SET role = 'admin', updated_at = now()
        WHERE lower(email) = ANY($1::text[]) AND role <> 'admin' RETURNING email`,
      [emails],
    );
    return returningRows<{ email: string }>(result).map((row) => row.email);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.users.delete({ id });
    return (result.affected ?? 0) > 0;
  }

  /** Newest first, keyset on (created_at, id); `q` matches email or username, case-insensitively. */
  list(query: UserListQuery): Promise<User[]> {
    const qb = this.users.createQueryBuilder('u').orderBy('u.created_at', 'DESC').addOrderBy('u.id', 'DESC');
    if (query.q) {
      const pattern = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.andWhere('(u.email ILIKE :pattern OR u.username ILIKE :pattern)', { pattern });
    }
    if (query.after) {
      qb.andWhere('(u.created_at, u.id) < (:createdAt, :id)', query.after);
    }
    return qb.limit(query.limit + 1).getMany();
  }
}
