import { Injectable } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { AppError } from '../common/problem.js';
import { type Role, User } from './user.entity.js';

export interface UserListQuery {
  limit: number;
  q?: string;
  /** Keyset position: the last item of the previous page. */
  after?: { createdAt: string; id: string };
}

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

  constructor(dataSource: DataSource) {
    this.users = dataSource.getRepository(User);
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.createQueryBuilder('u').where('lower(u.email) = lower(:email)', { email }).getOne();
  }

  async create(values: { email: string; username: string; passwordHash: string }): Promise<User> {
    try {
      return await this.users.save(this.users.create(values));
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

  async setRoleByEmail(email: string, role: Role): Promise<User | null> {
    const user = await this.findByEmail(email);
    if (!user) return null;
    return this.update(user.id, { role });
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
