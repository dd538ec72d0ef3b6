import { Module } from '@nestjs/common';
import { DirectUploadsController } from './direct-uploads.controller.js';
import { DirectUploadsService } from './direct-uploads.service.js';
import { DocumentsController } from './documents.controller.js';
import { DocumentsRepository } from './documents.repository.js';
import { DocumentsService } from './documents.service.js';
import { DownloadSlots } from './download-slots.js';
import { StorageModule } from '../storage/storage.module.js';

@Module({
  imports: [StorageModule],
  controllers: [DirectUploadsController, DocumentsController],
  providers: [DirectUploadsService, DocumentsRepository, DocumentsService, DownloadSlots],
  exports: [DocumentsRepository, DocumentsService, DownloadSlots],
})
export class DocumentsModule {}
