import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returningRows } from '../database/returning.js';
import type { ShareRoleName } from './dto/sharing.dto.js';

export interface ShareRow {
  id: string;
  documentId: string;
  userId: string;
  role: ShareRoleName;
  invitedEmail: string | null;
  username?: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface LinkRow {
  id: string;
  documentId: string;
  passwordHash: string | null;
  expiresAt: Date | null;
  maxDownloads: number | null;
  downloads: number;
  createdAt: Date;
}

const SHARE = `s.id, s.document_id AS "documentId", s.user_id AS "userId", s.role, s.invited_email AS "invitedEmail",
  s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;
const LINK = `l.id, l.document_id AS "documentId", l.password_hash AS "passwordHash", l.expires_at AS "expiresAt",
  l.max_downloads AS "maxDownloads", l.downloads, l.created_at AS "createdAt"`;
/** A link not expired (its document exists: links go with it). */
const UNEXPIRED = `(l.expires_at IS NULL OR l.expires_at > now())`;
/** A link that still works: not expired, not used up. */
const LIVE = `${UNEXPIRED} AND (l.max_downloads IS NULL OR l.downloads < l.max_downloads)`;

/** Shares with people and links, in PostgreSQL. */
@Injectable()
export class SharingRepository {
  constructor(private readonly dataSource: DataSource) {}

  async userIdByEmail(email: string): Promise<string | null> {
    const rows = await this.dataSource.query(`SELECT id FROM users WHERE lower(email) = lower($1)`, [email]);
    return rows[0]?.id ?? null;
  }

  async userExists(id: string): Promise<boolean> {
    return (await this.dataSource.query(`SELECT 1 FROM users WHERE id = $1`, [id])).length > 0;
  }

  /** Shares the document with the user, or changes the role of the share they have. */
  async upsertShare(documentId: string, userId: string, role: ShareRoleName, invitedEmail: string | null) {
    const rows = await this.dataSource.query(
      `INSERT INTO document_shares AS s (document_id, user_id, role, invited_email) VALUES ($1, $2, $3, $4)
       ON CONFLICT (document_id, user_id)
       DO UPDATE SET role = EXCLUDED.role, invited_email = coalesce(EXCLUDED.invited_email, s.invited_email), updated_at = now()
       RETURNING ${SHARE}`,
      [documentId, userId, role, invitedEmail],
    );
    return returningRows<ShareRow>(rows)[0];
  }

  async shares(documentId: string): Promise<ShareRow[]> {
    return this.dataSource.query(
      `SELECT ${SHARE}, u.username FROM document_shares s JOIN users u ON u.id = s.user_id
        WHERE s.document_id = $1 ORDER BY s.created_at, s.id`,
      [documentId],
    );
  }

  async updateShare(documentId: string, shareId: string, role: ShareRoleName): Promise<ShareRow | null> {
    const rows = await this.dataSource.query(
      `UPDATE document_shares s SET role = $3, updated_at = now() WHERE s.id = $2 AND s.document_id = $1 RETURNING ${SHARE}`,
      [documentId, shareId, role],
    );
    return returningRows<ShareRow>(rows)[0] ?? null;
  }

  async deleteShare(documentId: string, shareId: string): Promise<ShareRow | null> {
    const rows = await this.dataSource.query(
      `DELETE FROM document_shares s WHERE s.id = $2 AND s.document_id = $1 RETURNING ${SHARE}`,
      [documentId, shareId],
    );
    return returningRows<ShareRow>(rows)[0] ?? null;
  }

  async createLink(
    documentId: string,
    tokenHash: string,
    values: { passwordHash: string | null; expiresAt: Date | null; maxDownloads: number | null },
  ): Promise<LinkRow> {
    const rows = await this.dataSource.query(
      `INSERT INTO document_links AS l (document_id, token_hash, password_hash, expires_at, max_downloads)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${LINK}`,
      [documentId, tokenHash, values.passwordHash, values.expiresAt, values.maxDownloads],
    );
    return returningRows<LinkRow>(rows)[0];
  }

  async links(documentId: string): Promise<LinkRow[]> {
    return this.dataSource.query(
      `SELECT ${LINK} FROM document_links l WHERE l.document_id = $1 ORDER BY l.created_at, l.id`,
      [documentId],
    );
  }

  async deleteLink(documentId: string, linkId: string): Promise<boolean> {
    const rows = await this.dataSource.query(
      `DELETE FROM document_links l WHERE l.id = $2 AND l.document_id = $1 RETURNING l.id`,
      [documentId, linkId],
    );
    return returningRows(rows).length > 0;
  }

  /** Every link of the document stops working (its document left: deleted or trashed). */
  async deleteLinksOf(documentId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM document_links WHERE document_id = $1`, [documentId]);
  }

  /** An unexpired link by its token's hash (used up or not: see LinkRow's downloads). */
  async unexpiredLink(tokenHash: string): Promise<LinkRow | null> {
    const rows = await this.dataSource.query(
      `SELECT ${LINK} FROM document_links l WHERE l.token_hash = $1 AND ${UNEXPIRED}`,
      [tokenHash],
    );
    return rows[0] ?? null;
  }

  /**
   * Counts one download, in one statement, only while the link is live: two
   * concurrent downloads of the last allowed one cannot both pass. False when
   * the link is used up, expired or gone.
   */
  async countDownload(linkId: string): Promise<boolean> {
    const rows = await this.dataSource.query(
      `UPDATE document_links l SET downloads = l.downloads + 1 WHERE l.id = $1 AND ${LIVE} RETURNING l.id`,
      [linkId],
    );
    return returningRows(rows).length > 0;
  }

  /** Gives back a download counted for a response that could not be sent (no slot free). */
  async uncountDownload(linkId: string): Promise<void> {
    await this.dataSource.query(`UPDATE document_links SET downloads = downloads - 1 WHERE id = $1 AND downloads > 0`, [
      linkId,
    ]);
  }
}
