import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ACCEPTED_TYPES } from '../content-type.js';
import { UploadFieldsDto } from './document.dto.js';
import { ApiTimestamp } from '../../common/timestamps.js';

export class DocumentVersionDto {
  @ApiProperty({ example: 2, description: 'Version number, from 1.' }) n: number;
  @ApiProperty({ example: 'report.pdf' }) filename: string;
  @ApiProperty({ example: 'application/pdf' }) mimeType: string;
  @ApiProperty({ example: 48213, description: 'Bytes.' }) size: number;
  @ApiProperty({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }) sha256: string;
  @ApiTimestamp() createdAt: string;
  @ApiProperty({ description: 'Whether this is the document’s current content.' }) current: boolean;
}

export class DocumentVersionListDto {
  @ApiProperty({ type: [DocumentVersionDto], description: 'Newest first.' }) items: DocumentVersionDto[];
}

/** POST /documents/uploads: what the client is about to PUT to object storage. */
export class CreateDirectUploadDto {
  @ApiProperty({ example: 'report.pdf', minLength: 1, maxLength: 255 })
  @IsString()
  @Length(1, 255)
  filename: string;

  @ApiProperty({ example: 48213, description: 'Exact size in bytes of what will be PUT.' })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  size: number;

  @ApiProperty({ enum: ACCEPTED_TYPES, example: 'application/pdf' })
  @IsIn(ACCEPTED_TYPES)
  mimeType: string;

  @ApiPropertyOptional({ description: 'Hex sha256 of the bytes; checked on completion when given.' })
  @IsOptional()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'sha256 must be 64 hex digits' })
  sha256?: string;
}

export class DirectUploadDto {
  @ApiProperty({ format: 'uuid' }) uploadId: string;
  @ApiProperty({ description: 'Presigned URL to PUT the bytes to.' }) url: string;
  @ApiProperty({ example: 'PUT' }) method: 'PUT';
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { 'content-type': 'application/pdf' },
    description: 'Headers the PUT must carry.',
  })
  headers: Record<string, string>;
  @ApiProperty({ description: 'The URL and the upload expire then.' }) expiresAt: Date;
}

/** POST /documents/uploads/:uploadId/complete */
export class CompleteDirectUploadDto extends UploadFieldsDto {}
