import { Module } from '@nestjs/common';
import { PdfTextModule } from '../pdf-text/pdf-text.module.js';
import { DirectUploadsController } from './direct-uploads.controller.js';
import { DirectUploadsService } from './direct-uploads.service.js';
import { DocumentsController } from './documents.controller.js';
import { DocumentsRepository } from './documents.repository.js';
import { DocumentsService } from './documents.service.js';
import { DownloadSlots } from './download-slots.js';
import { TrashPurger } from './trash-purger.js';
import { StorageModule } from '../storage/storage.module.js';

@Module({
  imports: [StorageModule, PdfTextModule],
  controllers: [DirectUploadsController, DocumentsController],
  providers: [DirectUploadsService, DocumentsRepository, DocumentsService, DownloadSlots, TrashPurger],
  exports: [DocumentsRepository, DocumentsService, DownloadSlots],
})
export class DocumentsModule {}
