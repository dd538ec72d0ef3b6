import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import { decodeCursor, isIsoDate, isUuid, toPage } from '../common/pagination.js';
import { AuditLog } from './audit-log.js';
import { type AdminAuditQueryDto, type AuditPageDto, toAuditEventDto } from './dto/audit.dto.js';

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
    const after = cursor ? decodeCursor(cursor, [isIsoDate, isUuid]) : undefined;
    const rows = await this.audit.list({
      ...filter,
      limit,
      after: after ? { createdAt: after[0] as string, id: after[1] as string } : undefined,
    });
    return toPage(rows, limit, toAuditEventDto, (e) => [new Date(e.createdAt).toISOString(), e.id]);
  }
}
