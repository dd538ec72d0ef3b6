import { Body, Controller, Param, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { VerifiedEmailGuard } from '../accounts/verified-email.guard.js';
import { CurrentUser, type Principal } from '../common/principal.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import { DirectUploadsService } from './direct-uploads.service.js';
import { DocumentDto } from './dto/document.dto.js';
import { CompleteDirectUploadDto, CreateDirectUploadDto, DirectUploadDto } from './dto/storage.dto.js';

@ApiTags('Documents')
@ApiBearerAuth('bearer')
@Controller('documents/uploads')
@UseGuards(VerifiedEmailGuard)
export class DirectUploadsController {
  constructor(private readonly uploads: DirectUploadsService) {}

  @Post()
  @ApiOperation({
    summary: 'Start a direct upload to object storage: a presigned PUT URL',
    description:
      'Size and quota are checked first; the size is reserved until completion or expiry. PUT the bytes to `url` ' +
      'with `headers`, then POST /documents/uploads/{uploadId}/complete. With STORAGE_DRIVER=postgres: 409.',
  })
  @ApiCreatedResponse({ type: DirectUploadDto })
  @ApiProblems(400, 401, 409, 413, 503)
  start(@CurrentUser() principal: Principal, @Body() body: CreateDirectUploadDto): Promise<DirectUploadDto> {
    return this.uploads.start(principal, body);
  }

  @Post(':uploadId/complete')
  @ApiOperation({
    summary: 'Complete a direct upload: checks size, content type and sha256, then creates the document',
    description:
      '409 when nothing was PUT yet (PUT, then complete again); 422 when size or sha256 differ and 415 when the ' +
      'content is not the declared type (the upload is discarded); 410 once expired.',
  })
  @ApiParam({ name: 'uploadId', schema: { type: 'string', format: 'uuid' } })
  @ApiCreatedResponse({ type: DocumentDto, headers: { Location: { description: 'URL of the new document' } } })
  @ApiProblems(400, 401, 404, 409, 410, 413, 415, 422, 503)
  async complete(
    @CurrentUser() principal: Principal,
    @Param('uploadId', new UuidPipe('uploadId')) uploadId: string,
    @Body() body: CompleteDirectUploadDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentDto> {
    const document = await this.uploads.complete(principal, uploadId, body);
    reply.header('location', `/documents/${document.id}`);
    return document;
  }
}
