import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/config.js';
import type { EdgeStep } from '../edge/edge-step.js';
import { REQUEST_ID_HEADER } from './request-context.js';

export const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * HSTS only to a client that came over HTTPS (always, in production behind Render's proxy):
 * sent over plain HTTP in development, it would pin the browser's localhost to HTTPS.
 */
export function sendsHsts(config: AppConfig, request: FastifyRequest): boolean {
  return config.production || request.protocol === 'https';
}

/** The edge step keeping answers out of browser and proxy caches: they carry tokens and users' data (cache hits included). */
export const noStore: EdgeStep = {
  name: 'no-store',
  register({ fastify }) {
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (
        !reply.hasHeader('cache-control') &&
        /^application\/(problem\+)?json/.test(String(reply.getHeader('content-type')))
      )
        reply.header('cache-control', 'no-store');
      done(null, payload);
    });
  },
};

/** The edge step adding helmet's security headers (Nest's hook) and HSTS over HTTPS. */
export const securityHeaders: EdgeStep = {
  name: 'security headers',
  register({ app, fastify, config }) {
    app.useSecurityHeaders({
      contentSecurityPolicy: {
        // Served over plain HTTP in development: upgrading would break /docs there.
        directives: { upgradeInsecureRequests: null },
      },
      strictTransportSecurity: false,
    });
    fastify.addHook('onRequest', (request, reply, done) => {
      if (sendsHsts(config, request)) reply.header('strict-transport-security', HSTS);
      done();
    });
  },
};

/** The edge step answering CORS for CORS_ORIGINS (off when empty). */
export const cors: EdgeStep = {
  name: 'cors',
  register({ app, config }) {
    if (config.corsOrigins.length === 0) return;
    app.enableCors({
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: [REQUEST_ID_HEADER, 'location', 'etag', 'retry-after'],
      maxAge: 600,
    });
  },
};
