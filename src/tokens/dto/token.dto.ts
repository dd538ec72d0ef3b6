import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsISO8601, IsOptional, IsString, Length } from 'class-validator';
import { type Scope, SCOPES } from '../../auth/scopes.decorator.js';
import { PageDto } from '../../common/pagination.js';

export class CreateTokenDto {
  @ApiProperty({ example: 'backup script', minLength: 1, maxLength: 100 })
  @IsString()
  @Length(1, 100, { message: 'name must be 1 to 100 characters' })
  name: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['documents:read'] })
  @IsArray()
  @ArrayMinSize(1, { message: 'scopes must name at least one scope' })
  @ArrayMaxSize(SCOPES.length * 2)
  @IsIn(SCOPES, { each: true, message: `each scope must be one of ${SCOPES.join(', ')}` })
  scopes: Scope[];

  @ApiPropertyOptional({
    example: '2027-01-01T00:00:00.000Z',
    description: 'When it stops working (ISO 8601, in the future); none: never.',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'expiresAt must be an ISO 8601 date-time' })
  expiresAt?: string;
}

export class TokenDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'backup script' }) name: string;
  @ApiProperty({ enum: SCOPES, isArray: true }) scopes: Scope[];
  @ApiProperty({ example: 'uc_pat_Ab3x', description: 'The first characters of the token, to recognise it.' })
  prefix: string;
  @ApiProperty() createdAt: Date;
  @ApiProperty({ type: Date, nullable: true, description: 'Updated at most once a minute.' }) lastUsedAt: Date | null;
  @ApiProperty({ type: Date, nullable: true, description: 'Null: never expires.' }) expiresAt: Date | null;
}

export class CreatedTokenDto extends TokenDto {
  @ApiProperty({
    example: 'uc_pat_Ab3x…',
    description: 'Send as `Authorization: Bearer <token>`. Shown only now: only its hash is kept.',
  })
  token: string;
}

export class TokenPageDto extends PageDto<TokenDto> {
  @ApiProperty({ type: [TokenDto] }) declare items: TokenDto[];
}
