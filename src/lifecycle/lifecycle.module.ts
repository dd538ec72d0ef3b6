import { Global, Module } from '@nestjs/common';
import { Draining } from './draining.js';

/** The instance's own life: draining on shutdown (src/server.ts starts it). */
@Global()
@Module({
  providers: [Draining],
  exports: [Draining],
})
export class LifecycleModule {}
