import { Module } from '@nestjs/common';
import { DocumentsRepository } from '../documents/documents.repository.js';
import { DocumentBytes } from './document-bytes.js';
import { PdfTextIndexer } from './pdf-text-indexer.js';
import { PdfTextJobs } from './pdf-text-jobs.js';
import { StorageModule } from '../storage/storage.module.js';

/** PDF text extraction for search: jobs in PostgreSQL, pdf.js in worker threads. */
@Module({
  imports: [StorageModule],
  providers: [PdfTextJobs, PdfTextIndexer, DocumentBytes, DocumentsRepository],
  exports: [PdfTextIndexer],
})
export class PdfTextModule {}
