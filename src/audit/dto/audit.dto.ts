import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsUUID } from 'class-validator';
import { PageDto, PageQueryDto } from '../../common/pagination.js';
import { AUDIT_EVENT_TYPES, type AuditEventRow } from '../audit-log.js';

export class AuditEventDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: AUDIT_EVENT_TYPES }) type: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The account the event is about.' })
  userId: string | null;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'Who acted: the user, an administrator, or null for the system or an anonymous client.',
  })
  actorId: string | null;
  @ApiProperty({ type: String, nullable: true }) ip: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent: string | null;
  @ApiProperty({ type: String, nullable: true }) requestId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { sessionId: '…' } })
  details: Record<string, unknown>;
  @ApiProperty() createdAt: Date;
}

export function toAuditEventDto(row: AuditEventRow): AuditEventDto {
  return {
    id: row.id,
    type: row.type,
    userId: row.userId,
    actorId: row.actorId,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    details: row.details,
    createdAt: new Date(row.createdAt),
  };
}

export class AuditPageDto extends PageDto<AuditEventDto> {
  @ApiProperty({ type: [AuditEventDto] }) declare items: AuditEventDto[];
}

export class AdminAuditQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() userId?: string;
  @ApiPropertyOptional({ enum: AUDIT_EVENT_TYPES }) @IsOptional() @IsIn(AUDIT_EVENT_TYPES) type?: string;
  @ApiPropertyOptional({ description: 'Events at or after this time (ISO 8601).' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;
  @ApiPropertyOptional({ description: 'Events before this time (ISO 8601).' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}
