// A second yardstick for the uncached read, beside bench/reference-documents-server.mjs: the
// same work (jsonwebtoken with a KeyObject, the same keyset query through pg, the same JSON)
// in one controller method of a bare Nest application on Fastify, with nothing else (no
// guards, pipes, hooks, Redis, logging or metrics). It shows what Nest and Fastify cost by
// themselves, so that the rest of the service's cost can be put on its own pipeline.
// Env: PORT, DATABASE_URL, JWT_SECRET. Used by bench/list-cpu.mjs with FLOOR=1.
import 'reflect-metadata';
import { Controller, Get, HttpException, Module, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import pg from 'pg';
import { accessClaims, LIST, toPage } from './reference-documents.mjs';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

class DocumentsController {
  health() {
    return { status: 'ok' };
  }

  async list(request) {
    const claims = accessClaims(request.headers.authorization);
    if (!claims) throw new HttpException('Unauthorized', 401);
    const limit = Number(request.query.limit ?? 20);
    const { rows } = await pool.query(LIST, [claims.sub, limit + 1]);
    return toPage(rows, limit);
  }
}
// Decorators applied by hand: this file is plain JavaScript.
const method = (name) => Object.getOwnPropertyDescriptor(DocumentsController.prototype, name);
Controller()(DocumentsController);
Get('health')(DocumentsController.prototype, 'health', method('health'));
Get('documents')(DocumentsController.prototype, 'list', method('list'));
Req()(DocumentsController.prototype, 'list', 0);

class BenchModule {}
Module({ controllers: [DocumentsController] })(BenchModule);

const app = await NestFactory.create(BenchModule, new FastifyAdapter(), { logger: false });
await app.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
