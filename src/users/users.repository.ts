import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, type Repository } from 'typeorm';
import { type Role, User } from './user.entity.js';

export interface UserListQuery {
  limit: number;
  q?: string;
  /** Keyset position: the last item of the previous page. */
  after?: { createdAt: string; id: string };
}

/** Raised when the unique index on lower(email) refuses an insert. */
export class DuplicateEmailError extends Error {}

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

  async create(
    values: { email: string; username: string; passwordHash: string },
    manager?: EntityManager,
  ): Promise<User> {
    const users = manager?.getRepository(User) ?? this.users;
    try {
      return await users.save(users.create(values));
    } catch (error) {
      if ((error as { driverError?: { code?: string } }).driverError?.code === '23505') throw new DuplicateEmailError();
      throw error;
    }
  }

  async update(
    id: string,
    values: Partial<Pick<User, 'username' | 'passwordHash' | 'role' | 'disabled'>>,
  ): Promise<User | null> {
    await this.users.update({ id }, values);
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
