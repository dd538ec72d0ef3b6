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
  Put,
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
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { VerifiedEmailGuard } from '../accounts/verified-email.guard.js';
import { RequireScope } from '../auth/scopes.decorator.js';
import { CurrentUser, type Principal } from '../common/principal.js';
import { CachedRead } from '../cache/cached-read.decorator.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import { AppError, ValidationFailedError } from '../common/problem.js';
import { VersionNumberPipe } from './version-number.pipe.js';
import { addRouteConfig as RouteConfigAdd } from '../common/route-config.js';
import { RAW_UPLOAD_CONFIG } from '../common/input-guard.js';
import { validateAs } from '../common/validation.js';
import { AppConfig } from '../config/config.js';
import { ACCEPTED_TYPES, EXTENSION_OF } from './content-type.js';
import { type ContentAnswer, DocumentsService } from './documents.service.js';
import { ContentResponses, contentRequest, sendContent } from './content-reply.js';
import type { NewContent } from './documents.repository.js';
import { DocumentVersionListDto } from './dto/storage.dto.js';
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
import { type IncomingFile, readMultipartUpload } from './upload-reader.js';

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
    const document = request.isMultipart()
      ? await this.fromMultipart(principal, request)
      : await this.fromJson(principal, body);
    reply.header('location', `/documents/${document.id}`);
    return document;
  }

  @Get()
  @RequireScope('documents:read')
  @CachedRead((_body, request, principal) => ownList(request, principal))
  @ApiOperation({
    summary: 'Your documents (scope: owned, shared with you, all): keyset pages, search, tag filter, sort (cached)',
  })
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
  // Cached for its owner and for the people it is shared with (each bumped on every change
  // to it), not for an administrator's view of another user's document.
  @CachedRead((body, _request, principal) => {
    const document = body as DocumentDto;
    return document.ownerId === principal.userId || document.access !== 'owner';
  })
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
    summary: 'Download the bytes (ETag is the sha256; If-None-Match gives 304; one Range gives 206)',
    description:
      'Streams the current version. `Range: bytes=a-b` (one range) answers 206 with Content-Range, or 416 when ' +
      'outside the content; `If-Range: "<sha256>"` applies the range only to that content. With object storage, ' +
      '`?redirect=true` or `Accept: text/uri-list` answers 302 to a presigned URL valid DOWNLOAD_URL_TTL_SECONDS. ' +
      'At most DOWNLOAD_CONCURRENCY_PER_USER downloads per user (429) and DOWNLOAD_CONCURRENCY per server (503) at once, both with Retry-After.',
  })
  @ContentResponses()
  async content(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable | undefined> {
    return this.send(await this.documents.content(principal, id, contentRequest(request)), reply);
  }

  @Put(':id/content')
  @RouteConfigAdd(RAW_UPLOAD_CONFIG)
  @ApiOperation({
    summary:
      'Upload new content: a new version (multipart `file`, or the raw body with its Content-Type); If-Match: "<version>" refuses a stale one with 412',
    description: `Older versions are kept (MAX_VERSIONS_PER_DOCUMENT, the oldest pruned) and count toward the quota.`,
  })
  @ApiConsumes('multipart/form-data', ...ACCEPTED_TYPES)
  @ApiBody({
    schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } },
  })
  @ApiHeader({ name: 'If-Match', required: false, description: '"<version>" as last read' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiProblems(400, 401, 404, 412, 413, 415, 503)
  async replaceContent(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Req() request: FastifyRequest,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentDto> {
    await this.documents.checkBeforeReading(principal, Number(request.headers['content-length']) || 0);
    let file: NewContent;
    if (request.isMultipart()) {
      const form = await this.readForm(request);
      file = form.file;
      if (Object.keys(form.fields).length > 0) {
        await this.documents.discard(file);
        throw new ValidationFailedError(
          Object.keys(form.fields).map((field) => ({ field, message: 'only the field "file" is taken here' })),
        );
      }
    } else {
      // The raw body, typed by its Content-Type; the file keeps the document's name.
      const declaredType = request.headers['content-type'];
      if (!declaredType) {
        throw new AppError(
          415,
          'unsupported-media-type',
          'Send the new content with its Content-Type, or as multipart/form-data with the field "file".',
        );
      }
      const { filename } = await this.documents.get(principal, id);
      const stream = body instanceof Readable ? body : Readable.from([], { objectMode: false });
      file = await this.documents.receive({ filename, declaredType, stream });
    }
    const document = await this.documents.addVersion(principal, id, file, ifMatch);
    reply.header('etag', `"${document.version}"`);
    return document;
  }

  @Get(':id/versions')
  @ApiOperation({ summary: 'The kept content versions, newest first' })
  @ApiOkResponse({ type: DocumentVersionListDto })
  @ApiProblems(400, 401, 404)
  async versions(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
  ): Promise<DocumentVersionListDto> {
    return { items: await this.documents.versions(principal, id) };
  }

  @Get(':id/versions/:n/content')
  @ApiOperation({ summary: 'Download a kept version (same conditions, ranges and redirect as the current content)' })
  @ApiParam({ name: 'n', schema: { type: 'integer', minimum: 1 } })
  @ContentResponses()
  async versionContent(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Param('n', new VersionNumberPipe()) n: number,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readable | undefined> {
    return this.send(await this.documents.versionContent(principal, id, n, contentRequest(request)), reply);
  }

  @Post(':id/versions/:n/restore')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Restore a version: a new current version with its content (If-Match as for PUT)' })
  @ApiParam({ name: 'n', schema: { type: 'integer', minimum: 1 } })
  @ApiHeader({ name: 'If-Match', required: false, description: '"<version>" as last read' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiProblems(400, 401, 404, 412, 413, 503)
  async restoreVersion(
    @CurrentUser() principal: Principal,
    @Param('id', new UuidPipe()) id: string,
    @Param('n', new VersionNumberPipe()) n: number,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentDto> {
    const document = await this.documents.restoreVersion(principal, id, n, ifMatch);
    reply.header('etag', `"${document.version}"`);
    return document;
  }

  private send(answer: ContentAnswer, reply: FastifyReply): Readable | undefined {
    return sendContent(answer, reply, {
      stallMs: this.config.downloadStallTimeoutMs,
      cacheControl: 'private, no-cache',
    });
  }

  @Patch(':id')
  @RequireScope('documents:write')
  @ApiOperation({ summary: 'Change title and/or tags; If-Match: "<version>" refuses a stale change with 412' })
  @ApiHeader({ name: 'If-Match', required: false, description: '"<version>" as last read' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiProblems(400, 401, 403, 404, 412)
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
    summary: 'Move a document to the trash (?permanent=true: delete it for good, from the trash too); its owner only',
    description:
      'A trashed document disappears from lists, search and reads (404), and its share links stop working, until restored.',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 404)
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
  @ApiOperation({ summary: 'Take a document out of the trash (its owner only)' })
  @ApiOkResponse({ type: DocumentDto })
  @ApiProblems(400, 401, 403, 404)
  restore(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<DocumentDto> {
    return this.documents.restore(principal, id);
  }

  private readForm(request: FastifyRequest) {
    return readMultipartUpload<NewContent>(
      request,
      (file: IncomingFile) => this.documents.receive(file),
      (content) => this.documents.discard(content),
    );
  }

  private async fromMultipart(principal: Principal, request: FastifyRequest): Promise<DocumentDto> {
    await this.documents.checkBeforeReading(principal, Number(request.headers['content-length']) || 0);
    const { fields, file } = await this.readForm(request);
    const { title, tags, ...unknown } = fields;
    let checked: UploadFieldsDto;
    try {
      checked = await validateAs(UploadFieldsDto, {
        ...Object.fromEntries(Object.entries(unknown).map(([k, v]) => [k, v[0]])),
        // A form's empty field means "not given" (Swagger UI sends one for an untouched title).
        title: title?.[0] || undefined,
        tags: tags?.join(',') || undefined,
      });
    } catch (error) {
      await this.documents.discard(file);
      throw error;
    }
    return this.documents.create(principal, { title: checked.title, tags: checked.tags }, file);
  }

  private async fromJson(principal: Principal, body: unknown): Promise<DocumentDto> {
    const dto = await validateAs(CreateTextDocumentDto, body);
    await this.documents.checkBeforeReading(principal, 0);
    const declaredType = dto.mimeType ?? 'text/plain';
    const content = await this.documents.receiveBuffer(
      Buffer.from(dto.content, 'utf8'),
      `${dto.title}.${EXTENSION_OF[declaredType]}`,
      declaredType,
    );
    return this.documents.create(principal, { title: dto.title, tags: dto.tags }, content);
  }
}
