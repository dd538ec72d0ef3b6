import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { Public } from '../common/public.decorator.js';
import { AppConfig } from '../config/config.js';
import { ContentResponses, contentRequest, sendContent } from '../documents/content-reply.js';
import { LinkPasswordDto, SharedDocumentDto } from './dto/sharing.dto.js';
import { SharingService } from './sharing.service.js';

const PASSWORD_HEADER = {
  name: 'X-Link-Password',
  required: false,
  description: 'The link’s password, when it has one (401 when missing or wrong).',
};

const LINK_DOWNLOAD =
  'Answered as GET /documents/:id/content: If-None-Match (304), one `Range` (206 with Content-Range; 416 outside ' +
  'the content), and with object storage `?redirect=true` or `Accept: text/uri-list` (302 to a presigned URL valid ' +
  'DOWNLOAD_URL_TTL_SECONDS). A request answered with content or a redirect counts one download, atomically ' +
  '(concurrent requests cannot exceed maxDownloads), except a range not starting at byte 0 from an IP that ' +
  'downloaded this link in the last hour: a resumed or split download counts once, and the download that used ' +
  'the link up can still be resumed from the same IP. A 304 or a refusal counts nothing.';

/**
 * What anyone holding a link may do: see the document's metadata and download
 * it. Public (no account), under the global per-IP limit, with wrong passwords
 * limited per link and per IP on top. Never cached.
 */
@ApiTags('Sharing')
@Public()
@Controller('s/:token')
export class LinksController {
  constructor(
    private readonly sharing: SharingService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'A shared document’s metadata, by link (no account needed)' })
  @ApiHeader(PASSWORD_HEADER)
  @ApiOkResponse({ type: SharedDocumentDto })
  @ApiProblems(401, 404, 429)
  async metadata(
    @Param('token') token: string,
    @Headers('x-link-password') password: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SharedDocumentDto> {
    reply.header('cache-control', 'no-store');
    return this.sharing.toShared(await this.sharing.open(token, password, request.ip));
  }

  @Post()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'The same, with the password in the body (a form cannot send headers)' })
  @ApiBody({ type: LinkPasswordDto })
  @ApiOkResponse({ type: SharedDocumentDto })
  @ApiProblems(400, 401, 404, 429)
  async metadataWithPassword(
    @Param('token') token: string,
    @Body() body: LinkPasswordDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SharedDocumentDto> {
    reply.header('cache-control', 'no-store');
    return this.sharing.toShared(await this.sharing.open(token, body.password, request.ip));
  }

  @Get('content')
  @ApiOperation({
    summary: 'Download a shared document by link (ranges, presigned redirect); counts toward maxDownloads',
    description: LINK_DOWNLOAD,
  })
  @ApiHeader(PASSWORD_HEADER)
  @ContentResponses()
  async content(
    @Param('token') token: string,
    @Headers('x-link-password') password: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable | undefined> {
    return this.download(token, password, request, reply);
  }

  @Post('content')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'The same download, with the password in the body', description: LINK_DOWNLOAD })
  @ApiBody({ type: LinkPasswordDto })
  @ContentResponses()
  async contentWithPassword(
    @Param('token') token: string,
    @Body() body: LinkPasswordDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable | undefined> {
    return this.download(token, body.password, request, reply);
  }

  /** The owner's download path (conditions, ranges, redirect, download slots, stall cut-off), counted per link. */
  private async download(
    token: string,
    password: string | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Readable | undefined> {
    const answer = await this.sharing.download(token, password, request.ip, contentRequest(request));
    return sendContent(answer, reply, { stallMs: this.config.downloadStallTimeoutMs, cacheControl: 'no-store' });
  }
}
