import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { currentRequestClient, currentRequestId } from '../common/request-context.js';
import { returningRows } from '../database/returning.js';

export const AUDIT_EVENT_TYPES = [
  'user.registered',
  'login.succeeded',
  'login.failed',
  'logout',
  'session.revoked',
  'sessions.revoked-all',
  'refresh.reuse-detected',
  'password.changed',
  'password.reset-requested',
  'password.reset',
  'email.verification-sent',
  'email.verified',
  'email.change-requested',
  'email.change-confirmed',
  'user.role-changed',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'admin.read-user',
  'admin.read-documents',
  'admin.read-document',
  'oidc.identity-linked',
  'oidc.identity-unlinked',
  'admin.trash-document',
  'admin.restore-document',
  'admin.delete-document',
  'mfa.enabled',
  'mfa.disabled',
  'mfa.reset',
  'mfa.failed',
  'mfa.recovery-code-used',
  'token.created',
  'token.revoked',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditRecord {
  type: AuditEventType;
  /** Whose account the event is about; null when there is none (a failed login for an unknown email). */
  userId: string | null;
  /** Who acted: the user, an administrator, or null for the system / an anonymous client. */
  actorId: string | null;
  /** Small, and never a secret: no token, password or hash. */
  details?: Record<string, string | number | boolean | null>;
}

export interface AuditEventRow {
  id: string;
  /** bigint, as text: the keyset position. */
  seq: string;
  type: string;
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  createdAt: Date;
}

export interface AuditQuery {
  userId?: string;
  type?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Keyset position: the `seq` of the last event of the previous page. */
  after?: string;
}

/** The audit_events table: security events of accounts, with the client and request they came from. */
@Injectable()
export class AuditLog {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes in `manager`'s transaction when given, so the event exists exactly when the change does. */
  async record(event: AuditRecord, manager: EntityManager = this.dataSource.manager): Promise<void> {
    const client = currentRequestClient();
    await manager.query(
      `INSERT INTO audit_events (user_id, actor_id, type, ip, user_agent, request_id, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        event.userId,
        event.actorId,
        event.type,
        client?.ip ?? null,
        client?.userAgent ?? null,
        currentRequestId() ?? null,
        JSON.stringify(event.details ?? {}),
      ],
    );
  }

  /** Newest first, keyset on seq. */
  list(query: AuditQuery): Promise<AuditEventRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (query.userId) add('user_id = ?', query.userId);
    if (query.type) add('type = ?', query.type);
    if (query.from) add('created_at >= ?', query.from);
    if (query.to) add('created_at < ?', query.to);
    if (query.after) add('seq < ?::bigint', query.after);
    params.push(query.limit + 1);
    return this.dataSource.query(
      `SELECT id, seq::text AS seq, type, user_id AS "userId", actor_id AS "actorId", ip, user_agent AS "userAgent",
              request_id AS "requestId", details, created_at AS "createdAt"
         FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
  }

  /**
   * Deletes events older than the retention, on one instance at a time: the
   * transaction-scoped advisory lock is skipped by the others, not waited for.
   */
  async prune(retentionDays: number): Promise<number | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const [{ locked }] = await manager.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [AUDIT_PRUNE_LOCK]);
      if (!locked) return undefined;
      const rows = await manager.query(
        `DELETE FROM audit_events WHERE created_at < now() - make_interval(days => $1) RETURNING id`,
        [retentionDays],
      );
      return returningRows(rows).length;
    });
  }
}

/** Arbitrary, fixed: names the audit pruning among this database's advisory locks. */
const AUDIT_PRUNE_LOCK = 7_140_001;
