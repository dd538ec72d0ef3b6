import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PageDto, PageQueryDto } from '../../common/pagination.js';
import { type Role, ROLES } from '../../common/principal.js';
import { type User } from '../user.entity.js';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** Email input: trimmed and lower-cased before it is validated. */
export const NormalizeEmail = () =>
  Transform(({ value }) => (typeof value === 'string' ? value.trim().toLowerCase() : value));

export const EmailField = () => (target: object, key: string) => {
  ApiProperty({ example: 'ada@example.com', maxLength: 254 })(target, key);
  NormalizeEmail()(target, key);
  IsEmail({}, { message: 'email must be an email address' })(target, key);
  MaxLength(254)(target, key);
};

export const PasswordField =
  (example = 'correct horse battery staple') =>
  (target: object, key: string) => {
    ApiProperty({ example, minLength: 8, maxLength: 128, format: 'password' })(target, key);
    IsString()(target, key);
    Length(8, 128, { message: `${key} must be 8 to 128 characters` })(target, key);
  };

export const UsernameField = () => (target: object, key: string) => {
  ApiProperty({ example: 'ada.l', minLength: 3, maxLength: 32, pattern: USERNAME_PATTERN.source })(target, key);
  IsString()(target, key);
  Length(3, 32, { message: 'username must be 3 to 32 characters' })(target, key);
  Matches(USERNAME_PATTERN, { message: 'username may hold only letters, digits, _ . and -' })(target, key);
};

/** A user as the API shows it: never a password or hash. */
export class UserDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: 'ada.l' }) username: string;
  @ApiProperty({ enum: ROLES, example: 'user' }) role: Role;
  @ApiProperty({ example: false }) disabled: boolean;
  @ApiProperty({ description: 'True once the address was confirmed through the link mailed to it.' })
  emailVerified: boolean;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}

export function toUserDto(user: User): UserDto {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    role: user.role,
    disabled: user.disabled,
    emailVerified: user.emailVerified,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

export class UserPageDto extends PageDto<UserDto> {
  @ApiProperty({ type: [UserDto] }) declare items: UserDto[];
}

export class UpdateMeDto {
  @UsernameField() username: string;
}

export class ChangePasswordDto {
  @ApiProperty({ format: 'password' }) @IsString() @MaxLength(1024) currentPassword: string;
  @PasswordField('a new long passphrase') newPassword: string;
}

export class DeleteAccountDto {
  @ApiProperty({ format: 'password', description: 'The current password, to confirm.' })
  @IsString()
  @MaxLength(1024)
  password: string;
}

/** Optional, but when present must be valid: null is not "absent" (unlike @IsOptional). */
export const IfPresent = () => ValidateIf((_object, value) => value !== undefined);

export class AdminUpdateUserDto {
  @ApiPropertyOptional({ enum: ROLES }) @IfPresent() @IsIn(ROLES) role?: Role;
  @ApiPropertyOptional({ example: false, description: 'A disabled user cannot log in; their sessions are revoked.' })
  @IfPresent()
  @IsBoolean()
  disabled?: boolean;
}

export class UserListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Matches email or username (case-insensitive substring).' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  q?: string;
}
