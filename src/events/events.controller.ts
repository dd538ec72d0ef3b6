import { Controller, Get, Headers, HttpCode, HttpStatus, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiProperty,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator } from '../auth/authenticator.js';
import { UnauthorizedError } from '../common/errors.js';
import { RequireScope, requiredScopeOf, scopeRefusal } from '../auth/scopes.decorator.js';
import { CurrentUser, type Principal } from '../common/principal.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { AppError } from '../common/problem.js';
import { Public } from '../common/public.decorator.js';
import { REQUEST_ID_HEADER } from '../common/request-context.js';
import { AppConfig } from '../config/config.js';
import { EVENT_TYPES } from './event.js';
import { EventsService } from './events.service.js';
import { StreamTickets, TICKET_TTL_SECONDS } from './stream-ticket.js';
import { UsedTickets } from './used-tickets.js';

class StreamTicketDto {
  @ApiProperty({ description: 'Pass as GET /events?ticket=… within expiresIn seconds; it works once.' })
  ticket: string;
  @ApiProperty({ example: TICKET_TTL_SECONDS }) expiresIn: number;
}

const STREAM_DESCRIPTION = [
  'Server-sent events (`text/event-stream`) about what you can see: ' +
    EVENT_TYPES.map((t) => `\`${t}\``).join(', ') +
    '.',
  'Each event has an `id`, an `event` name and JSON `data` (ids and small facts: refetch what changed).',
  'Authenticate with `Authorization: Bearer <access token>`, or (a browser `EventSource`, which cannot send headers) ',
  'with `?ticket=` from `POST /events/tickets`. Reconnecting with `Last-Event-ID` replays what you missed in the last ',
  'EVENTS_REPLAY_SECONDS, or sends one `reload` event when that is not known. A comment line every ',
  'EVENTS_HEARTBEAT_MS keeps proxies from closing the stream; it closes when the session is revoked (after a ',
  '`session.revoked` event), when the personal access token that opened it is deleted (after `token.revoked`), ',
  'and when the instance shuts down (reconnect). At most EVENTS_MAX_STREAMS_PER_USER streams per user, counted ',
  'across the instances sharing Redis (429 beyond). A stream ticket opens one stream, once.',
].join('');

@ApiTags('Events')
@Controller('events')
export class EventsController {
  private readonly tickets: StreamTickets;

  constructor(
    private readonly events: EventsService,
    private readonly authenticator: Authenticator,
    private readonly usedTickets: UsedTickets,
    config: AppConfig,
  ) {
    this.tickets = new StreamTickets(config.jwtSecret);
  }

  @Post('tickets')
  @HttpCode(HttpStatus.CREATED)
  @ApiBearerAuth('bearer')
  @ApiOperation({
    summary: 'A one-minute, single-use ticket to open GET /events from a browser EventSource',
    description:
      'A ticket opens one stream, once, on any instance: used again it is 401. Ask for a new one to reconnect.',
  })
  @ApiCreatedResponse({ type: StreamTicketDto })
  @ApiProblems(401)
  ticket(@CurrentUser() principal: Principal): StreamTicketDto {
    return { ticket: this.tickets.issue(principal), expiresIn: TICKET_TTL_SECONDS };
  }

  /** The live principal of an unused, valid ticket, which is used up by this; undefined otherwise. */
  private async redeem(ticket: string): Promise<Principal | undefined> {
    const claim = this.tickets.verify(ticket);
    if (!claim || !(await this.usedTickets.claim(claim.id, claim.expiresAtMs))) return undefined;
    return this.authenticator.live(claim.principal);
  }

  @Get()
  @RequireScope('documents:read')
  @Public() // to the guard: this route checks a bearer token or a stream ticket itself
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Live events (server-sent events)', description: STREAM_DESCRIPTION })
  @ApiProduces('text/event-stream')
  @ApiQuery({ name: 'ticket', required: false, description: 'From POST /events/tickets (instead of the header).' })
  @ApiQuery({
    name: 'lastEventId',
    required: false,
    description: 'The same as Last-Event-ID, for a new EventSource (which cannot set it) opened with a new ticket.',
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'The last event id seen, to replay what was missed.',
  })
  @ApiOkResponse({
    description: 'An endless event stream',
    content: {
      'text/event-stream': {
        schema: { type: 'string' },
        example:
          'id: 1764470000000-0\nevent: document.updated\ndata: {"documentId":"…","version":2}\n\n: keep-alive\n\n',
      },
    },
  })
  @ApiProblems(401, 429)
  async stream(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query('ticket') ticket: unknown,
    @Headers('last-event-id') lastEventHeader: string | undefined,
    @Query('lastEventId') lastEventQuery: unknown,
  ): Promise<void> {
    const lastEventId = lastEventHeader ?? (typeof lastEventQuery === 'string' ? lastEventQuery : undefined);
    const principal =
      typeof ticket === 'string'
        ? await this.redeem(ticket)
        : await this.authenticator.authenticateHeader(request.headers.authorization);
    if (!principal) throw new UnauthorizedError();
    // Public to the guards (for the ticket), so the scope of a personal access token is checked here.
    const refusal = scopeRefusal(principal, requiredScopeOf(request));
    if (refusal) throw refusal;
    const streamId = await this.events.reserve(principal.userId);
    if (!streamId) {
      throw new AppError(
        429,
        'too-many-streams',
        'You already have the most event streams open: close one first.',
        undefined,
        { 'retry-after': '5' },
      );
    }
    const missed = lastEventId === undefined ? [] : await this.events.missed(principal.userId, lastEventId);

    const res = reply.raw;
    reply.hijack();
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      [REQUEST_ID_HEADER]: String(request.id),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    const stream = { id: streamId, userId: principal.userId, sessionId: principal.sessionId, res };
    if (!this.events.add(stream)) {
      res.end();
      return;
    }
    if (missed === undefined) this.events.write(stream, this.events.reloadEvent());
    else for (const event of missed) this.events.write(stream, event);
  }
}
