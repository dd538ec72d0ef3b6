import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { EmailField, PasswordField } from '../../users/dto/user.dto.js';

const TokenField = () => (target: object, key: string) => {
  ApiProperty({ description: 'The token from the link in the mail (`?token=`).', example: 'k3J…' })(target, key);
  IsString()(target, key);
  // Any string up to this length is checked the same way: a wrong one is the one 400 for bad tokens.
  MaxLength(1024)(target, key);
};

export class VerifyEmailDto {
  @TokenField() token: string;
}

export class ForgotPasswordDto {
  @EmailField() email: string;
}

export class ResetPasswordDto {
  @TokenField() token: string;
  @PasswordField('a new long passphrase') password: string;
}

export class ChangeEmailDto {
  @EmailField() email: string;
  @ApiProperty({ format: 'password', description: 'The current password, to confirm.' })
  @IsString()
  @MaxLength(1024)
  password: string;
}

export class AcceptedDto {
  @ApiProperty({ example: 'accepted' }) status: 'accepted';
}
