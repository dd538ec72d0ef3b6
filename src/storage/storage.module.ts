import { Module } from '@nestjs/common';
import { DocumentStorage } from './document-storage.js';
import { StorageSweeper } from './storage-sweeper.js';

/** Document bytes: the drivers (DocumentStorage, for every module that reads or writes them) and the sweeper. */
@Module({
  providers: [DocumentStorage, StorageSweeper],
  exports: [DocumentStorage, StorageSweeper],
})
export class StorageModule {}
