import { Module } from '@nestjs/common';
import { PdfTextModule } from '../pdf-text/pdf-text.module.js';
import { DocumentsController } from './documents.controller.js';
import { DocumentsRepository } from './documents.repository.js';
import { DocumentsService } from './documents.service.js';
import { DownloadSlots } from './download-slots.js';
import { TrashPurger } from './trash-purger.js';

@Module({
  imports: [PdfTextModule],
  controllers: [DocumentsController],
  providers: [DocumentsRepository, DocumentsService, DownloadSlots, TrashPurger],
})
export class DocumentsModule {}
