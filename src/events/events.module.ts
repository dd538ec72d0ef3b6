import { Global, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { EventsController } from './events.controller.js';
import { EventsService } from './events.service.js';
import { UsedTickets } from './used-tickets.js';

/** Live events (GET /events); EventsService is global so any feature can publish. */
@Global()
@Module({
  imports: [AuthModule],
  controllers: [EventsController],
  providers: [EventsService, UsedTickets],
  exports: [EventsService],
})
export class EventsModule {}
