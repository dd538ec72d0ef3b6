import { Injectable } from '@nestjs/common';
import type { EdgeStep } from '../edge/edge-step.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../common/problem.js';

/**
 * Whether this instance is shutting down: once `start` is called (on SIGTERM,
 * by src/server.ts), new requests are refused with a 503 problem+json (the
 * client retries, on another instance), while those already accepted run to
 * the end. Steps that answer before the pipeline stop when told.
 */
@Injectable()
export class Draining {
  private active = false;
  private readonly listeners: Array<() => void> = [];

  get draining(): boolean {
    return this.active;
  }

  /** From now on, new requests get 503 problem+json. */
  start(): void {
    if (this.active) return;
    this.active = true;
    for (const listener of this.listeners) listener();
  }

  /** Called once, when draining starts. */
  onStart(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The edge step refusing new requests while draining; the connection closes. */
  readonly step: EdgeStep = {
    name: 'drain',
    register: ({ fastify }) => {
      fastify.addHook('onRequest', (request, reply, done) => {
        if (!this.active) return done();
        reply
          .code(503)
          .headers({ connection: 'close', 'retry-after': '1' })
          .type(PROBLEM_CONTENT_TYPE)
          .send(
            JSON.stringify(
              problemBody(503, 'shutting-down', 'This instance is shutting down; retry in a moment.', {
                instance: request.url.split('?')[0],
                requestId: request.id,
              }),
            ),
          );
      });
    },
  };
}
