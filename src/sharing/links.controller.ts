import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { Public } from '../common/public.decorator.js';
import { NotFoundError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';
import { ACCEPTED_TYPES } from '../documents/content-type.js';
import { DocumentsRepository } from '../documents/documents.repository.js';
import { DownloadSlots } from '../documents/download-slots.js';
import { downloadStream } from '../documents/download-stream.js';
import { setFileHeaders } from '../documents/file-headers.js';
import { DocumentStorage } from '../storage/document-storage.js';
import { LinkPasswordDto, SharedDocumentDto } from './dto/sharing.dto.js';
import { SharingService } from './sharing.service.js';

const PASSWORD_HEADER = {
  name: 'X-Link-Password',
  required: false,
  description: 'The link’s password, when it has one (401 when missing or wrong).',
};

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
    private readonly documents: DocumentsRepository,
    private readonly slots: DownloadSlots,
    private readonly storage: DocumentStorage,
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
    summary: 'Download a shared document by link; each download counts toward maxDownloads',
    description: 'Downloads are counted atomically: concurrent requests cannot exceed maxDownloads.',
  })
  @ApiHeader(PASSWORD_HEADER)
  @ApiProduces(...ACCEPTED_TYPES)
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiProblems(401, 404, 429, 503)
  async content(
    @Param('token') token: string,
    @Headers('x-link-password') password: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    return this.download(token, password, request, reply);
  }

  @Post('content')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'The same download, with the password in the body' })
  @ApiBody({ type: LinkPasswordDto })
  @ApiProduces(...ACCEPTED_TYPES)
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiProblems(400, 401, 404, 429, 503)
  async contentWithPassword(
    @Param('token') token: string,
    @Body() body: LinkPasswordDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable> {
    return this.download(token, body.password, request, reply);
  }

  /**
   * The existing download path (download slots, stall cut-off, headers), with the
   * link's count taken atomically once a slot is held, and given back when the
   * bytes cannot be read.
   */
  private async download(
    token: string,
    password: string | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Readable> {
    const opened = await this.sharing.open(token, password, request.ip);
    const release = this.slots.acquire(`link-ip:${request.ip}`);
    try {
      const uncount = await this.sharing.countDownload(opened.link);
      const version = await this.documents.currentVersion(opened.document.id);
      if (!version) {
        await uncount();
        throw new NotFoundError('This link does not exist or no longer works.');
      }
      const data = await this.storage
        .read(version, version.size === 0 ? undefined : { start: 0, end: version.size - 1 })
        .catch(async (error: unknown) => {
          await uncount();
          throw error;
        });
      reply
        .header('etag', `"${version.sha256}"`)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff');
      setFileHeaders(reply, version, version.size);
      return downloadStream(data, reply.raw, this.config.downloadStallTimeoutMs, release);
    } catch (error) {
      release();
      throw error;
    }
  }
}
