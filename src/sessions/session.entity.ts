import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A login: one refresh-token family. The token itself is never stored, only
 * the SHA-256 of its secret part, plus the one it replaced (for the short
 * grace window when two tabs refresh at once) and the recent ones before it
 * (to tell a replayed token from a guess).
 */
@Entity('sessions')
export class Session {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'user_id', type: 'uuid' }) userId: string;
  @Column({ name: 'refresh_token_hash', type: 'varchar', length: 64 }) refreshTokenHash: string;
  @Column({ name: 'previous_token_hash', type: 'varchar', length: 64, nullable: true })
  previousTokenHash: string | null;
  /** Every token rotated away, most recent first, up to RETIRED_TOKENS_KEPT: only these count as reuse. */
  @Column({ name: 'retired_token_hashes', type: 'varchar', length: 64, array: true, default: () => "'{}'" })
  retiredTokenHashes: string[];
  @Column({ name: 'rotated_at', type: 'timestamptz', precision: 3, nullable: true }) rotatedAt: Date | null;
  @Column({ name: 'rotation_count', type: 'integer', default: 0 }) rotationCount: number;
  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true }) userAgent: string | null;
  @Column({ type: 'varchar', length: 64, nullable: true }) ip: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 }) createdAt: Date;
  @Column({ name: 'last_used_at', type: 'timestamptz', precision: 3, default: () => 'now()' }) lastUsedAt: Date;
  @Column({ name: 'expires_at', type: 'timestamptz', precision: 3 }) expiresAt: Date;
  @Column({ name: 'revoked_at', type: 'timestamptz', precision: 3, nullable: true }) revokedAt: Date | null;
}
