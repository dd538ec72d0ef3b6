import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

export class AuthorizeQueryDto {
  @ApiProperty({
    description: 'Where the browser returns with `?code=…`: exactly one of OIDC_ALLOWED_REDIRECTS.',
    example: 'https://app.example.com/auth/callback',
    maxLength: 2048,
  })
  @IsString()
  @MaxLength(2048)
  redirect_uri: string;
}

export class OidcTokenDto {
  @ApiProperty({
    description: 'The one-time code from the redirect (single use, valid 60 seconds).',
    example: 'k3Jx9V0aQ2bL7mN4pR8sT1uW5yZ6cD0eF2gH3iJ4kL5',
    maxLength: 128,
  })
  @IsString()
  @MaxLength(128)
  code: string;
}

export class IdentityDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'OIDC_NAME for the configured provider.', example: 'Google' }) provider: string;
  @ApiProperty({ example: 'https://accounts.google.com' }) issuer: string;
  @ApiProperty({ type: String, nullable: true, example: 'ada@example.com' }) email: string | null;
  @ApiProperty() createdAt: Date;
  @ApiProperty() lastLoginAt: Date;
}

export class IdentityListDto {
  @ApiProperty({ type: [IdentityDto] }) items: IdentityDto[];
}
