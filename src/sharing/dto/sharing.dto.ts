import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsDate,
  IsEmail,
  IsIn,
  IsInt,
  IsString,
  IsUUID,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { IfPresent } from '../../users/dto/user.dto.js';

export const SHARE_ROLES = ['viewer', 'editor'] as const;
export type ShareRoleName = (typeof SHARE_ROLES)[number];

export class CreateShareDto {
  @ApiPropertyOptional({ example: 'colleague@example.com', description: 'Who to share with: their email, or userId.' })
  @ValidateIf((o: CreateShareDto) => o.userId === undefined || o.email !== undefined)
  @Transform(({ value }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @IsEmail({}, { message: 'send email or userId' })
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Who to share with, by user id (instead of email).' })
  @IfPresent()
  @IsUUID('all', { message: 'userId must be a UUID' })
  userId?: string;

  @ApiProperty({ enum: SHARE_ROLES, description: 'viewer reads; editor also changes title, tags and content.' })
  @IsIn(SHARE_ROLES)
  role: ShareRoleName;
}

export class UpdateShareDto {
  @ApiProperty({ enum: SHARE_ROLES }) @IsIn(SHARE_ROLES) role: ShareRoleName;
}

export class ShareDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) documentId: string;
  @ApiProperty({ enum: SHARE_ROLES }) role: ShareRoleName;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The email it was shared with, as you typed it (null when shared by userId).',
  })
  email: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'Set when shared by userId.' })
  userId: string | null;
  @ApiPropertyOptional({ description: 'In lists: the person’s username.' }) username?: string;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}

export class ShareListDto {
  @ApiProperty({ type: [ShareDto] }) items: ShareDto[];
}

export class CreateLinkDto {
  @ApiPropertyOptional({
    example: '2030-01-01T00:00:00Z',
    description: 'When the link stops working (in the future). Default: never.',
  })
  @IfPresent()
  @Type(() => Date)
  @IsDate({ message: 'expiresAt must be an ISO 8601 date' })
  expiresAt?: Date;

  @ApiPropertyOptional({
    example: 'correct horse',
    description: 'Asked for on every use (X-Link-Password). 4 to 128 characters.',
  })
  @IfPresent()
  @IsString()
  @Length(4, 128, { message: 'password must be 4 to 128 characters' })
  password?: string;

  @ApiPropertyOptional({
    example: 10,
    description: 'Downloads of the content the link allows, 1 to 1000000. Default: no limit.',
  })
  @IfPresent()
  @IsInt({ message: 'maxDownloads must be an integer' })
  @Min(1)
  @Max(1_000_000)
  maxDownloads?: number;
}

export class LinkDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) documentId: string;
  @ApiProperty({ nullable: true, type: Date }) expiresAt: Date | null;
  @ApiProperty({ nullable: true, type: Number }) maxDownloads: number | null;
  @ApiProperty({ description: 'Downloads of the content so far.' }) downloads: number;
  @ApiProperty() hasPassword: boolean;
  @ApiProperty() createdAt: Date;
}

export class CreatedLinkDto extends LinkDto {
  @ApiProperty({ example: 'http://localhost:3000/s/3q2-7wH…', description: 'PUBLIC_URL + /s/ + token.' }) url: string;
  @ApiProperty({ description: 'Shown once: only its hash is stored.' }) token: string;
}

export class LinkListDto {
  @ApiProperty({ type: [LinkDto] }) items: LinkDto[];
}

export class LinkPasswordDto {
  @ApiProperty({ example: 'correct horse' }) @IsString() @MaxLength(128) password: string;
}

/** What a link shows of its document: no owner, no id. */
export class SharedDocumentDto {
  @ApiProperty({ example: 'Quarterly report' }) title: string;
  @ApiProperty({ example: 'report.pdf' }) filename: string;
  @ApiProperty({ example: 'application/pdf' }) mimeType: string;
  @ApiProperty({ example: 48213 }) size: number;
  @ApiProperty() sha256: string;
  @ApiProperty() updatedAt: Date;
  @ApiProperty({ nullable: true, type: Date }) expiresAt: Date | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Downloads left (null: no limit).' }) downloadsLeft:
    number | null;
}
