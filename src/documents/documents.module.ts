import { Module } from '@nestjs/common';
import { DocumentsController } from './documents.controller.js';
import { DocumentsRepository } from './documents.repository.js';
import { DocumentsService } from './documents.service.js';
import { DownloadSlots } from './download-slots.js';

@Module({
  controllers: [DocumentsController],
  providers: [DocumentsRepository, DocumentsService, DownloadSlots],
  exports: [DocumentsRepository, DocumentsService, DownloadSlots],
})
export class DocumentsModule {}
