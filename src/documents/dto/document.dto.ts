import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PageDto, PageQueryDto } from '../../common/pagination.js';
import { ApiTimestamp } from '../../common/timestamps.js';
import { IfPresent } from '../../users/dto/user.dto.js';

export const MAX_TAGS = 20;
export const TEXT_STATUSES = ['none', 'pending', 'indexed', 'failed'] as const;
export type TextStatus = (typeof TEXT_STATUSES)[number];
const TAG = /^[^,\s][^,]{0,49}$/;

/** Tags are trimmed, lower-cased and de-duplicated; a comma-separated string is split. */
const NormalizeTags = () =>
  Transform(({ value }) => {
    const list = typeof value === 'string' ? value.split(',') : value;
    if (!Array.isArray(list)) return value;
    const tags = list.map((t) => (typeof t === 'string' ? t.trim().toLowerCase() : t)).filter((t) => t !== '');
    return [...new Set(tags)];
  });

const TagsField = () => (target: object, key: string) => {
  ApiPropertyOptional({ type: [String], example: ['report', '2026'], maxItems: MAX_TAGS })(target, key);
  IfPresent()(target, key);
  NormalizeTags()(target, key);
  IsArray()(target, key);
  ArrayMaxSize(MAX_TAGS)(target, key);
  IsString({ each: true })(target, key);
  Matches(TAG, { each: true, message: 'each tag must be 1 to 50 characters without commas' })(target, key);
};

const TitleField = (required: boolean) => (target: object, key: string) => {
  (required ? ApiProperty : ApiPropertyOptional)({ example: 'Quarterly report', minLength: 1, maxLength: 200 })(
    target,
    key,
  );
  if (!required) IfPresent()(target, key);
  Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))(target, key);
  IsString()(target, key);
  Length(1, 200, { message: 'title must be 1 to 200 characters' })(target, key);
};

/** `?owner=`: administrators list another user's documents or trash with it. */
const OwnerField = (what: string) => (target: object, key: string) => {
  ApiPropertyOptional({ format: 'uuid', description: `Administrators only: list this user’s ${what}.` })(target, key);
  IsOptional()(target, key);
  ValidateIf((_o, v) => v !== undefined)(target, key);
  IsUUID('all', { message: 'owner must be a UUID' })(target, key);
};

/** The fields of a multipart upload besides the file. */
export class UploadFieldsDto {
  @TitleField(false) title?: string;
  @TagsField() tags?: string[];
}

/** A text document sent as JSON. */
export class CreateTextDocumentDto {
  @TitleField(true) title: string;
  @ApiProperty({ example: '# Notes\n\nThe quick brown fox.' }) @IsString() content: string;
  @ApiPropertyOptional({ enum: ['text/plain', 'text/markdown'], default: 'text/plain' })
  @IsOptional()
  @IsIn(['text/plain', 'text/markdown'])
  mimeType?: 'text/plain' | 'text/markdown';
  @TagsField() tags?: string[];
}

export class UpdateDocumentDto {
  @TitleField(false) title?: string;
  @TagsField() tags?: string[];
}

export const SCOPES = ['owned', 'shared', 'all'] as const;
export type Scope = (typeof SCOPES)[number];
export const ACCESS = ['owner', 'editor', 'viewer'] as const;

export const SORTS = ['-createdAt', 'createdAt', 'title', '-title'] as const;
export type Sort = (typeof SORTS)[number];

export class DocumentListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Full-text search over title and content; results ranked by relevance.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({ description: 'Only documents with this tag.' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @IsString()
  @Matches(TAG, { message: 'tag must be 1 to 50 characters without commas' })
  tag?: string;

  @ApiPropertyOptional({
    enum: SORTS,
    description: 'Default `-createdAt`; with `q` and no `sort`, by relevance.',
  })
  @IsOptional()
  @IsIn(SORTS)
  sort?: Sort;

  @ApiPropertyOptional({
    enum: SCOPES,
    default: 'owned',
    description: 'owned: your documents; shared: those shared with you; all: both. Search covers the same set.',
  })
  @IsOptional()
  @IsIn(SCOPES)
  scope?: Scope;

  @OwnerField('documents') owner?: string;
}

export class DocumentDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid', description: 'The user who owns it.' }) ownerId: string;
  @ApiProperty({ example: 'Quarterly report' }) title: string;
  @ApiProperty({ example: 'report.pdf' }) filename: string;
  @ApiProperty({ example: 'application/pdf' }) mimeType: string;
  @ApiProperty({ example: 48213, description: 'Bytes.' }) size: number;
  @ApiProperty({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }) sha256: string;
  @ApiProperty({ type: [String] }) tags: string[];
  @ApiTimestamp() createdAt: string;
  @ApiTimestamp() updatedAt: string;
  @ApiProperty({ example: 1, description: 'Increases on each change; send it back in If-Match.' }) version: number;
  @ApiProperty({
    enum: TEXT_STATUSES,
    description:
      'Text for search: `none` (not a PDF: text files are searchable at once, other types have no text), ' +
      '`pending` (a PDF whose text is being extracted), `indexed`, `failed` (the PDF could not be read).',
  })
  textStatus: TextStatus;

  @ApiProperty({
    enum: ACCESS,
    description:
      'What you may do: owner (everything), editor (read, change title/tags, upload versions), viewer (read). ' +
      'Administrators have owner rights on every document.',
  })
  access: (typeof ACCESS)[number];
}

export class TrashedDocumentDto extends DocumentDto {
  @ApiTimestamp({ description: 'When it was moved to the trash.' }) deletedAt: string;
  @ApiTimestamp({ description: 'When the purge deletes it for good (TRASH_RETENTION_DAYS after deletedAt).' })
  purgeAt: string;
}

export class TrashPageDto extends PageDto<TrashedDocumentDto> {
  @ApiProperty({ type: [TrashedDocumentDto] }) declare items: TrashedDocumentDto[];
}

export class TrashListQueryDto extends PageQueryDto {
  @OwnerField('trash') owner?: string;
}

export class DeleteDocumentQueryDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    default: 'false',
    description: '`true` deletes for good (from the trash too); otherwise the document goes to the trash.',
  })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'permanent must be true or false' })
  permanent?: 'true' | 'false';
}

export class DocumentPageDto extends PageDto<DocumentDto> {
  @ApiProperty({ type: [DocumentDto] }) declare items: DocumentDto[];
}

/** For Swagger UI: the multipart form of POST /documents. */
export const MULTIPART_UPLOAD_SCHEMA = {
  type: 'object',
  required: ['file'],
  properties: {
    file: { type: 'string', format: 'binary', description: 'The file (text, Markdown, CSV, JSON or PDF).' },
    // An empty example leaves Swagger UI's field empty (else it fills in "string"), and it sends no empty field.
    title: { type: 'string', maxLength: 200, example: '', description: 'Defaults to the file name.' },
    tags: { type: 'string', example: '', description: 'Comma-separated, e.g. `report,2026`.' },
  },
};
