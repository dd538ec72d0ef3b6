import { Global, Module } from '@nestjs/common';
import { MailOutbox } from './mail-outbox.js';
import { MailSender } from './mail-sender.js';

/** The mail outbox and its sender, for any feature that sends mail. */
@Global()
@Module({ providers: [MailOutbox, MailSender], exports: [MailOutbox, MailSender] })
export class MailModule {}
