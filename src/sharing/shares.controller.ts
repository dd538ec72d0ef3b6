import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { VerifiedEmailGuard } from '../accounts/verified-email.guard.js';
import { RequireScope } from '../auth/scopes.decorator.js';
import { CurrentUser, type Principal } from '../common/principal.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import {
  CreatedLinkDto,
  CreateLinkDto,
  CreateShareDto,
  LinkListDto,
  ShareDto,
  ShareListDto,
  UpdateShareDto,
} from './dto/sharing.dto.js';
import { SharingService } from './sharing.service.js';

/** Managing a document's shares and links: its owner (or an administrator) only. */
@ApiTags('Sharing')
@ApiBearerAuth('bearer')
@Controller('documents/:id')
@UseGuards(VerifiedEmailGuard)
export class SharesController {
  constructor(private readonly sharing: SharingService) {}

  @Post('shares')
  @RequireScope('documents:write')
  @ApiOperation({
    summary: 'Share with a person (by email or userId) as viewer or editor',
    description:
      'An email or id with no account gets the same 201 as one with an account, and nothing is stored. ' +
      'Sharing again with the same person changes their role. Owner only (403 for an editor or viewer).',
  })
  @ApiCreatedResponse({ type: ShareDto })
  @ApiProblems(400, 401, 403, 404)
  share(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Body() body: CreateShareDto,
  ): Promise<ShareDto> {
    return this.sharing.share(principal, id, body);
  }

  @Get('shares')
  @RequireScope('documents:write')
  @ApiOperation({ summary: 'The people the document is shared with (owner only)' })
  @ApiOkResponse({ type: ShareListDto })
  @ApiProblems(400, 401, 403, 404)
  async shares(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<ShareListDto> {
    return { items: await this.sharing.shares(principal, id) };
  }

  @Patch('shares/:shareId')
  @RequireScope('documents:write')
  @ApiOperation({ summary: 'Change a share’s role (owner only)' })
  @ApiOkResponse({ type: ShareDto })
  @ApiProblems(400, 401, 403, 404)
  changeShare(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Param('shareId', new UuidPipe()) shareId: string,
    @Body() body: UpdateShareDto,
  ): Promise<ShareDto> {
    return this.sharing.changeShare(principal, id, shareId, body.role);
  }

  @Delete('shares/:shareId')
  @RequireScope('documents:write')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Stop sharing with that person (owner only); seen at once everywhere' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 404)
  unshare(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Param('shareId', new UuidPipe()) shareId: string,
  ): Promise<void> {
    return this.sharing.unshare(principal, id, shareId);
  }

  @Post('links')
  @RequireScope('documents:write')
  @ApiOperation({
    summary: 'Make a share link (owner only): optional expiry, password, download limit',
    description:
      'The token (256 random bits) is shown once; only its hash is stored. Anyone with it reads via GET /s/{token}.',
  })
  @ApiCreatedResponse({ type: CreatedLinkDto })
  @ApiProblems(400, 401, 403, 404)
  createLink(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Body() body: CreateLinkDto,
  ): Promise<CreatedLinkDto> {
    return this.sharing.createLink(principal, id, body);
  }

  @Get('links')
  @RequireScope('documents:write')
  @ApiOperation({ summary: 'The document’s links (owner only; tokens are not shown again)' })
  @ApiOkResponse({ type: LinkListDto })
  @ApiProblems(400, 401, 403, 404)
  async links(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<LinkListDto> {
    return { items: await this.sharing.links(principal, id) };
  }

  @Delete('links/:linkId')
  @RequireScope('documents:write')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Revoke a link (owner only): it answers 404 from now on' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 404)
  revokeLink(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Param('linkId', new UuidPipe()) linkId: string,
  ): Promise<void> {
    return this.sharing.revokeLink(principal, id, linkId);
  }
}
