import { Injectable } from '@nestjs/common';
import { DocumentsRepository } from '../documents/documents.repository.js';

/**
 * The one place PDF text extraction reads a document's bytes: when the
 * storage moves (chunks, object storage), only this read changes.
 */
@Injectable()
export class DocumentBytes {
  constructor(private readonly documents: DocumentsRepository) {}

  /** The whole file, or null when the document is gone. */
  read(documentId: string): Promise<Buffer | null> {
    return this.documents.content(documentId);
  }
}
