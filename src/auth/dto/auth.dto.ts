import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageDto } from '../../common/pagination.js';
import { EmailField, PasswordField, UserDto, UsernameField } from '../../users/dto/user.dto.js';

export class RegisterDto {
  @EmailField() email: string;
  @PasswordField() password: string;
  @UsernameField() username: string;
}

export class LoginDto {
  @EmailField() email: string;
  // Not held to the registration rules: a wrong password is a 401, never a 400 that hints.
  @ApiProperty({ example: 'correct horse battery staple', format: 'password' })
  @IsString()
  @MaxLength(1024)
  password: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from login or the previous refresh (single use).' })
  @IsString()
  @MaxLength(1024)
  refresh_token: string;
}

/** Login and refresh: the legacy fields plus the refresh token. */
export class TokenResponseDto {
  @ApiProperty({ description: 'JWT for `Authorization: Bearer <token>`.' }) access_token: string;
  @ApiProperty({ example: 'bearer' }) token_type: 'bearer';
  @ApiProperty({ example: 900, description: 'Seconds until the access token expires.' }) expires_in: number;
  @ApiProperty({ description: 'Opaque, single use: exchange it at POST /auth/refresh.' }) refresh_token: string;
  @ApiProperty({ example: 2592000, description: 'Seconds until the refresh token expires.' })
  refresh_expires_in: number;
  @ApiProperty({ type: UserDto }) user: UserDto;
}

/** Login of an account with two-factor authentication on: the first step. */
export class MfaRequiredDto {
  @ApiProperty({ example: true }) mfa_required: true;
  @ApiProperty({ description: 'Send it with a code to POST /auth/login/mfa.' }) mfa_token: string;
  @ApiProperty({ example: 300, description: 'Seconds the mfa_token stays valid.' }) expires_in: number;
}

export class LoginMfaDto {
  @ApiProperty({ description: 'From POST /auth/login.' })
  @IsString()
  @MaxLength(2048)
  mfa_token: string;

  @ApiPropertyOptional({
    example: '123456',
    description: 'The code the authenticator app shows (or give recovery_code).',
  })
  @IsOptional()
  @IsString()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code?: string;

  @ApiPropertyOptional({ example: '7kq4-m2xp-9hdt-c3wa', description: 'One of the recovery codes (each works once).' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  recovery_code?: string;
}

export class SessionDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() createdAt: Date;
  @ApiProperty({ description: 'Login or last refresh.' }) lastUsedAt: Date;
  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' })
  userAgent: string | null;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' }) ip: string | null;
  @ApiProperty({ description: 'True for the session of the token making this request.' }) current: boolean;
}

export class SessionPageDto extends PageDto<SessionDto> {
  @ApiProperty({ type: [SessionDto] }) declare items: SessionDto[];
}

export class VerifyDto {
  @ApiProperty({ example: true }) valid: true;
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: 'ada.l' }) username: string;
  @ApiProperty({ enum: ['user', 'admin'], example: 'user' }) role: string;
}

class ProtectedUserDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: 'ada.l' }) username: string;
}

export class ProtectedDto {
  @ApiProperty({ example: 'This is a protected route' }) message: string;
  @ApiProperty({ type: ProtectedUserDto }) user: ProtectedUserDto;
}
