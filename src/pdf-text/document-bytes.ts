import { Injectable } from '@nestjs/common';
import { DocumentsRepository } from '../documents/documents.repository.js';
import { DocumentStorage } from '../storage/document-storage.js';

/**
 * The one place PDF text extraction reads a document's bytes: its current
 * version, through the storage driver that holds it (chunks or object storage).
 */
@Injectable()
export class DocumentBytes {
  constructor(
    private readonly documents: DocumentsRepository,
    private readonly storage: DocumentStorage,
  ) {}

  /**
   * The whole current version, or null when the document (or its version) is gone,
   * or 'too-large' past `maxBytes` (not read at all: the PDF is held in memory whole).
   */
  async read(documentId: string, maxBytes: number): Promise<Buffer | null | 'too-large'> {
    const version = await this.documents.currentVersion(documentId);
    if (!version) return null;
    if (version.size > maxBytes) return 'too-large';
    if (version.size === 0) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.storage.read(version)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}
