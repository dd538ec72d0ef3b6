import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/config.js';
import { DocumentStorage } from './document-storage.js';
import { StorageSweeper } from './storage-sweeper.js';

/** Document bytes: the drivers (DocumentStorage, for every module that reads or writes them) and the sweeper. */
@Module({
  providers: [
    // A factory: the S3 store is imported only when it is configured (DocumentStorage.create).
    {
      provide: DocumentStorage,
      inject: [DataSource, AppConfig],
      useFactory: (dataSource: DataSource, config: AppConfig) => DocumentStorage.create(dataSource, config),
    },
    StorageSweeper,
  ],
  exports: [DocumentStorage, StorageSweeper],
})
export class StorageModule {}
