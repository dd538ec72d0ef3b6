import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/principal.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import { AuditLog } from './audit-log.js';
import { type AdminAuditQueryDto, type AuditPageDto, toAuditEventDto } from './dto/audit.dto.js';

const isSeq = (value: unknown): boolean => typeof value === 'string' && /^\d{1,18}$/.test(value);

@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditLog) {}

  mine(principal: Principal, limit: number, cursor?: string): Promise<AuditPageDto> {
    return this.page({ userId: principal.userId }, limit, cursor);
  }

  search(query: AdminAuditQueryDto): Promise<AuditPageDto> {
    return this.page(
      {
        userId: query.userId,
        type: query.type,
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
      },
      query.limit,
      query.cursor,
    );
  }

  private async page(
    filter: { userId?: string; type?: string; from?: Date; to?: Date },
    limit: number,
    cursor?: string,
  ): Promise<AuditPageDto> {
    const after = cursor ? decodeCursor(cursor, [isSeq]) : undefined;
    const rows = await this.audit.list({ ...filter, limit, after: after?.[0] as string | undefined });
    return toPage(rows, limit, toAuditEventDto, (e) => [e.seq]);
  }
}
