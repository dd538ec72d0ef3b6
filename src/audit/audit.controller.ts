import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, type Principal, Roles } from '../common/principal.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { PageQueryDto } from '../common/pagination.js';
import { AuditService } from './audit.service.js';
import { AdminAuditQueryDto, AuditPageDto } from './dto/audit.dto.js';

@ApiTags('Audit')
@ApiBearerAuth('bearer')
@Controller()
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('users/me/audit')
  @ApiOperation({ summary: 'Security events of your account, newest first' })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiProblems(400, 401)
  mine(@CurrentUser() principal: Principal, @Query() page: PageQueryDto): Promise<AuditPageDto> {
    return this.audit.mine(principal, page.limit, page.cursor);
  }

  @Get('admin/audit')
  @Roles('admin')
  @ApiOperation({ summary: 'Security events of every account, newest first (admin)' })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiProblems(400, 401, 403)
  search(@Query() query: AdminAuditQueryDto): Promise<AuditPageDto> {
    return this.audit.search(query);
  }
}
