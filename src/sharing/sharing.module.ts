import { StorageModule } from '../storage/storage.module.js';
import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { DocumentsModule } from '../documents/documents.module.js';
import { LinksController } from './links.controller.js';
import { SharesController } from './shares.controller.js';
import { SharingRepository } from './sharing.repository.js';
import { SharingService } from './sharing.service.js';
import { LinkResumes } from './link-resumes.js';

/** Documents shared with people and by link. */
@Module({
  imports: [DocumentsModule, SessionsModule, StorageModule],
  controllers: [SharesController, LinksController],
  providers: [SharingRepository, SharingService, LinkResumes],
})
export class SharingModule {}
