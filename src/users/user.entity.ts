import type { Role } from '../common/principal.js';
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid') id: string;
  /** Stored trimmed and lower-cased; unique on lower(email). */
  @Column({ type: 'varchar', length: 254 }) email: string;
  @Column({ type: 'varchar', length: 32 }) username: string;
  @Column({ name: 'password_hash', type: 'text' }) passwordHash: string;
  @Column({ type: 'varchar', length: 16, default: 'user' }) role: Role;
  @Column({ type: 'boolean', default: false }) disabled: boolean;
  @Column({ name: 'email_verified', type: 'boolean', default: false }) emailVerified: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 }) updatedAt: Date;
}
