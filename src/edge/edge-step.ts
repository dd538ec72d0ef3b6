import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../config/config.js';
import type { AnsweredRequests } from './answered-requests.js';

/** What a step of the request edge is given when it registers. */
export interface Edge {
  app: NestFastifyApplication;
  fastify: FastifyInstance;
  config: AppConfig;
  /** Every answer, from the pipeline or from a fast path before it (metrics and the access log listen). */
  answered: AnsweredRequests;
}

/**
 * One step of the request edge: the Fastify hooks (and the like) that run around
 * Nest's pipeline. Each module owns its steps; the composition root
 * (`edgeSteps` in src/app.ts) lists them in the order they run, since Fastify runs the
 * hooks of one kind in the order they were added.
 */
export interface EdgeStep {
  /** Short, for the list and for errors. */
  readonly name: string;
  register(edge: Edge): void;
}

/** Registers the steps in order. */
export function registerEdge(steps: readonly EdgeStep[], edge: Edge): void {
  for (const step of steps) step.register(edge);
}
