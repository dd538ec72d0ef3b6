import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { VerifiedEmailGuard } from '../accounts/verified-email.guard.js';
import { RequireScope } from '../auth/scopes.decorator.js';
import { CurrentUser, type Principal } from '../common/principal.js';
import { CachedRead } from '../cache/response-cache.interceptor.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import { validateAs } from '../common/validation.js';
import { AppConfig } from '../config/config.js';
import { ACCEPTED_TYPES, EXTENSION_OF } from './content-type.js';
import { DocumentsService, type IncomingDocument, sha256Of } from './documents.service.js';
import {
  CreateTextDocumentDto,
  DeleteDocumentQueryDto,
  DocumentDto,
  DocumentListQueryDto,
  DocumentPageDto,
  MULTIPART_UPLOAD_SCHEMA,
  TrashListQueryDto,
  TrashPageDto,
  UpdateDocumentDto,
  UploadFieldsDto,
} from './dto/document.dto.js';
import { contentDisposition } from './filename.js';
import { readMultipartUpload } from './upload-reader.js';
import { downloadStream } from './download-stream.js';

/** Only a user's own list is cached: an administrator's `?owner=` view is someone else's data. */
function ownList(request: FastifyRequest, principal: Principal): boolean {
  const owner = (request.query as { owner?: string }).owner;
  return owner === undefined || owner.toLowerCase() === principal.userId;
}

@ApiTags('Documents')
@ApiBearerAuth('bearer')
@Controller('documents')
@UseGuards(VerifiedEmailGuard)
export class DocumentsController {
  constructor(
    private readonly documents: DocumentsService,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @RequireScope('documents:write')
  @ApiOperation({
    summary: 'Upload a document (multipart file, or JSON text)',
    description:
      'multipart/form-data with `file` (and optional `title`, `tags`), or JSON `{ title, content, mimeType?, tags? }`. ' +
      `Accepted: ${ACCEPTED_TYPES.join(', ')}, checked against the content.`,
  })
  @ApiConsumes('multipart/form-data', 'application/json')
  @ApiBody({ schema: MULTIPART_UPLOAD_SCHEMA })
  @ApiCreatedResponse({ type: DocumentDto, headers: { Location: { description: 'URL of the new document' } } })
  @ApiProblems(400, 401, 413, 415)
  async create(
    @CurrentUser() principal: Principal,
    @Req() request: FastifyRequest,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentDto> {
    const incoming = request.isMultipart() ? await this.fromMultipart(principal, request) : await this.fromJson(body);
    const document = await this.documents.create(principal, incoming);
    reply.header('location', `/documents/${document.id}`);
    return document;
  }

  @Get()
  @RequireScope('documents:read')
  @CachedRead((_body, request, principal) => ownList(request, principal))
  @ApiOperation({ summary: 'Your documents: keyset pages, full-text search, tag filter, sort (cached: X-Cache)' })
  @ApiOkResponse({ type: DocumentPageDto })
  @ApiProblems(400, 401, 403)
  list(@CurrentUser() principal: Principal, @Query() query: DocumentListQueryDto): Promise<DocumentPageDto> {
    return this.documents.list(principal, query);
  }

  @Get('trash')
  @RequireScope('documents:read')
  @ApiOperation({
    summary: 'Your trash: deleted documents, most recent first, until restored or purged (TRASH_RETENTION_DAYS)',
    description: 'Documents in the trash still count towards the quota.',
  })
  @ApiOkResponse({ type: TrashPageDto })
  @ApiProblems(400, 401, 403)
  trash(@CurrentUser() principal: Principal, @Query() query: TrashListQueryDto): Promise<TrashPageDto> {
    return this.documents.trash(principal, query);
  }

  @Delete('trash')
  @RequireScope('documents:write')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Empty your trash: its documents are deleted for good' })
  @ApiNoContentResponse()
  @ApiProblems(401)
  async emptyTrash(@CurrentUser() principal: Principal): Promise<void> {
    await this.documents.emptyTrash(principal);
  }

  @Get(':id')
  @RequireScope('documents:read')
  @CachedRead((body, _request, principal) => (body as DocumentDto).ownerId === principal.userId)
  @ApiOperation({ summary: 'A document’s metadata (cached: X-Cache)' })
  @ApiOkResponse({ type: DocumentDto, headers: { ETag: { description: '"<version>", for If-Match' } } })
  @ApiProblems(400, 401, 404)
  async get(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentDto> {
    const document = await this.documents.get(principal, id);
    reply.header('etag', `"${document.version}"`);
    return document;
  }

  @Get(':id/content')
  @RequireScope('documents:read')
  @ApiOperation({
    summary: 'Download the bytes (ETag is the sha256; If-None-Match gives 304)',
    description:
      'At most DOWNLOAD_CONCURRENCY_PER_USER downloads per user (429) and DOWNLOAD_CONCURRENCY per server (503) at once, both with Retry-After.',
  })
  @ApiProduces(...ACCEPTED_TYPES)
  @ApiHeader({ name: 'If-None-Match', required: false })
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiResponse({ status: 304, description: 'Not modified' })
  @ApiProblems(400, 401, 404, 429, 503)
  async content(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable | undefined> {
    const { document, data, release } = await this.documents.content(principal, id, ifNoneMatch);
    reply
      .header('etag', `"${document.sha256}"`)
      .header('cache-control', 'private, no-cache')
      .header('x-content-type-options', 'nosniff');
    if (!data || !release) {
      reply.status(HttpStatus.NOT_MODIFIED);
      return undefined;
    }
    reply
      .header(
        'content-type',
        document.mimeType.startsWith('text/') ? `${document.mimeType}; charset=utf-8` : document.mimeType,
      )
      .header('content-length', data.length)
      .header('content-disposition', contentDisposition(document.filename));
    return downloadStream(data, reply.raw, this.config.downloadStallTimeoutMs, release);
  }

  @Patch(':id')
  @RequireScope('documents:write')
  @ApiOperation({ summary: 'Change title and/or tags; If-Match: "<version>" refuses a stale change with 412' })
  @ApiHeader({ name: 'If-Match', required: false, description: '"<version>" as last read' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiProblems(400, 401, 404, 412)
  async update(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Body() body: UpdateDocumentDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentDto> {
    const document = await this.documents.update(principal, id, body, ifMatch);
    reply.header('etag', `"${document.version}"`);
    return document;
  }

  @Delete(':id')
  @RequireScope('documents:write')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Move a document to the trash (?permanent=true: delete it for good, from the trash too)',
    description: 'A trashed document disappears from lists, search and reads (404) until restored.',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 404)
  delete(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Query() query: DeleteDocumentQueryDto,
  ): Promise<void> {
    return this.documents.delete(principal, id, query.permanent === 'true');
  }

  @Post(':id/restore')
  @RequireScope('documents:write')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Take a document out of the trash' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiProblems(400, 401, 404)
  restore(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<DocumentDto> {
    return this.documents.restore(principal, id);
  }

  private async fromMultipart(principal: Principal, request: FastifyRequest): Promise<IncomingDocument> {
    await this.documents.checkBeforeReading(principal, Number(request.headers['content-length']) || 0);
    const { fields, file } = await readMultipartUpload(request, this.config.uploadMaxBytes);
    const { title, tags, ...unknown } = fields;
    const checked = await validateAs(UploadFieldsDto, {
      ...Object.fromEntries(Object.entries(unknown).map(([k, v]) => [k, v[0]])),
      // A form's empty field means "not given" (Swagger UI sends one for an untouched title).
      title: title?.[0] || undefined,
      tags: tags?.join(',') || undefined,
    });
    return { title: checked.title, tags: checked.tags, ...file };
  }

  private async fromJson(body: unknown): Promise<IncomingDocument> {
    const dto = await validateAs(CreateTextDocumentDto, body);
    const data = Buffer.from(dto.content, 'utf8');
    const declaredType = dto.mimeType ?? 'text/plain';
    return {
      title: dto.title,
      tags: dto.tags,
      filename: `${dto.title}.${EXTENSION_OF[declaredType]}`,
      declaredType,
      data,
      sha256: sha256Of(data),
    };
  }
}
