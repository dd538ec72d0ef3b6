import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { DeleteAccountDto } from '../../users/dto/user.dto.js';

/** A TOTP code: six digits (a wrong one is a refusal, not a validation error, once it has that shape). */
export const TotpCodeField = () => (target: object, key: string) => {
  ApiProperty({ example: '123456', pattern: '^\\d{6}$', description: 'The 6-digit code your app shows now.' })(
    target,
    key,
  );
  IsString()(target, key);
  Matches(/^\d{6}$/, { message: `${key} must be 6 digits` })(target, key);
};

/** `{ password }`: the current password, to confirm. */
export class EnrolTotpDto extends DeleteAccountDto {}

export class TotpEnrolmentDto {
  @ApiProperty({ example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', description: 'Base32, for apps that take it typed.' })
  secret: string;
  @ApiProperty({
    example: 'otpauth://totp/UltrAI:ada%40example.com?issuer=UltrAI&secret=JBSW…&algorithm=SHA1&digits=6&period=30',
    description: 'Show it as a QR code for the authenticator app to scan.',
  })
  otpauthUrl: string;
}

export class ConfirmTotpDto {
  @TotpCodeField() code: string;
}

export class RecoveryCodesDto {
  @ApiProperty({
    type: [String],
    example: ['7kq4-m2xp-9hdt-c3wa'],
    description: 'Ten single-use codes for when the phone is lost. Shown only now: keep them safe.',
  })
  recoveryCodes: string[];
}

export class DisableTotpDto extends DeleteAccountDto {
  @TotpCodeField() code: string;
}
