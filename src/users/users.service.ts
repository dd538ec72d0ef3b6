import { Injectable } from '@nestjs/common';
import { AccountsService } from '../accounts/accounts.service.js';
import { AuditLog } from '../audit/audit-log.js';
import { ForbiddenError, UnauthorizedError } from '../common/errors.js';
import { PasswordService } from '../sessions/password.service.js';
import type { Principal } from '../common/principal.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { CacheGenerations } from '../cache/cache-generations.js';
import { TokensService } from '../tokens/tokens.service.js';
import { decodeCursor, isIsoDate, toPage } from '../common/pagination.js';
import { isUuid } from '../common/ids.js';
import { AppError, NotFoundError } from '../common/problem.js';
import { DocumentsService } from '../documents/documents.service.js';
import { type AdminUpdateUserDto, toUserDto, type UserDto, type UserListQueryDto } from './dto/user.dto.js';
import type { User } from './user.entity.js';
import { NOT_AN_ADMIN, UsersRepository } from './users.repository.js';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordService,
    private readonly cache: CacheGenerations,
    private readonly accounts: AccountsService,
    private readonly audit: AuditLog,
    private readonly documents: DocumentsService,
    private readonly accessTokens: TokensService,
  ) {}

  async me(principal: Principal): Promise<UserDto> {
    return toUserDto(await this.existing(principal.userId));
  }

  async updateMe(principal: Principal, username: string): Promise<UserDto> {
    await this.existing(principal.userId);
    const updated = (await this.users.update(principal.userId, { username }))!;
    await this.cache.bump(principal.userId);
    return toUserDto(updated);
  }

  /** Changes the password and ends every other session of the account. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<void> {
    const user = await this.existing(principal.userId);
    await this.checkPassword(user, currentPassword);
    await this.users.update(user.id, { passwordHash: await this.passwords.hash(newPassword) });
    await this.accounts.passwordChanged(user.id);
    await this.sessions.revokeAll(user.id, principal.sessionId);
    await this.audit.record({ type: 'password.changed', userId: user.id, actorId: user.id });
    await this.cache.bump(user.id);
  }

  /** Deletes the account; its sessions (and documents) go with it by cascade. */
  async deleteMe(principal: Principal, password: string): Promise<void> {
    const user = await this.existing(principal.userId);
    await this.checkPassword(user, password);
    const documentsGone = await this.documents.ownerLeaving(user.id);
    const removed = await this.sessions.removeUser(user.id, () =>
      this.accessTokens.removeUser(user.id, () => this.users.delete(user.id)),
    );
    await this.audit.record({ type: 'user.deleted', userId: user.id, actorId: user.id });
    await this.cache.bump(user.id);
    if (removed) await documentsGone();
  }

  async list(query: UserListQueryDto): Promise<{ items: UserDto[]; nextCursor: string | null }> {
    const after = query.cursor ? decodeCursor(query.cursor, [isIsoDate, isUuid]) : undefined;
    const rows = await this.users.list({
      limit: query.limit,
      q: query.q,
      after: after ? { createdAt: after[0] as string, id: after[1] as string } : undefined,
    });
    return toPage(rows, query.limit, toUserDto, (u) => [u.createdAt.toISOString(), u.id]);
  }

  async get(actor: Principal, id: string): Promise<UserDto> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('No such user.');
    if (id !== actor.userId) await this.audit.record({ type: 'admin.read-user', userId: id, actorId: actor.userId });
    return toUserDto(user);
  }

  async adminUpdate(actor: Principal, id: string, changes: AdminUpdateUserDto): Promise<UserDto> {
    if (id === actor.userId && (changes.role === 'user' || changes.disabled === true)) {
      throw new ForbiddenError('An administrator cannot remove their own admin role or disable themselves.');
    }
    const before: { user?: User } = {};
    const updated = await this.users.asEnabledAdmin(actor.userId, async (users) => {
      before.user = (await users.findOneBy({ id })) ?? undefined;
      if (!before.user) return null;
      const values = { role: changes.role, disabled: changes.disabled };
      if (values.role !== undefined || values.disabled !== undefined) await users.update({ id }, values);
      return users.findOneByOrFail({ id });
    });
    if (updated === NOT_AN_ADMIN) throw new ForbiddenError('This route is for administrators.');
    if (!updated) throw new NotFoundError('No such user.');
    // Disabling ends every session: the user's tokens stop working at once.
    if (changes.disabled === true) {
      await this.sessions.revokeAll(id);
      await this.accessTokens.forgetUser(id);
    }
    const user = before.user!;
    if (changes.role !== undefined && changes.role !== user.role) {
      await this.audit.record({
        type: 'user.role-changed',
        userId: id,
        actorId: actor.userId,
        details: { from: user.role, to: changes.role },
      });
    }
    if (changes.disabled !== undefined && changes.disabled !== user.disabled) {
      await this.audit.record({
        type: changes.disabled ? 'user.disabled' : 'user.enabled',
        userId: id,
        actorId: actor.userId,
      });
    }
    await this.cache.bump(id);
    return toUserDto(updated);
  }

  async adminDelete(actor: Principal, id: string): Promise<void> {
    if (id === actor.userId) {
      throw new ForbiddenError('Delete your own account with DELETE /users/me.');
    }
    let notAnAdmin = false;
    const documentsGone = await this.documents.ownerLeaving(id);
    const removed = await this.sessions.removeUser(id, () =>
      this.accessTokens.removeUser(id, async () => {
        const deleted = await this.users.asEnabledAdmin(
          actor.userId,
          async (users) => ((await users.delete({ id })).affected ?? 0) > 0,
        );
        notAnAdmin = deleted === NOT_AN_ADMIN;
        return deleted === true;
      }),
    );
    if (notAnAdmin) throw new ForbiddenError('This route is for administrators.');
    if (!removed) throw new NotFoundError('No such user.');
    await this.audit.record({ type: 'user.deleted', userId: id, actorId: actor.userId });
    await this.cache.bump(id);
    await documentsGone();
  }

  private async existing(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new UnauthorizedError();
    return user;
  }

  private async checkPassword(user: User, password: string): Promise<void> {
    if (!(await this.passwords.verify(user.passwordHash, password))) {
      throw new AppError(403, 'wrong-password', 'The password is not correct.');
    }
  }
}
