import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp, createLogger } from './app.js';
import type { AppLogger } from './common/logger.js';
import type { AppConfig } from './config/config.js';
import { tracing } from './common/trace-context.js';
import { Draining } from './lifecycle/draining.js';
import { startServingAfterFirstResponse } from './lifecycle/code-cache.js';
import { compactWhenIdle } from './lifecycle/idle-compaction.js';

export interface StartOptions {
  logger?: AppLogger;
  /** Called after the app is built and before it listens. */
  beforeListen?: (app: NestFastifyApplication) => void | Promise<void>;
}

export async function startServer(config: AppConfig, options: StartOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger(config);
  if (config.jwtSecretFile) {
    logger.log(`JWT_SECRET is not set: using the development secret kept in ${config.jwtSecretFile}`, 'Config');
  } else if (config.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random one, so tokens stop working on restart', 'Config');
  }
  // A failure from here to listening is thrown to the caller, which prints it; Nest must not print it too.
  logger.startingUp = true;
  const app = await createApp(config, { logger });
  // From the moment the app exists (before it listens), a SIGTERM drains and exits 0.
  handleShutdownSignals(app, config, logger);
  await options.beforeListen?.(app);
  await app.listen({ port: config.port, host: config.host });
  logger.startingUp = false;
  logger.log(`Mapped ${logger.routesMapped} routes (listed at LOG_LEVEL=debug)`, 'Server');
  logger.log(listeningMessage(app.getHttpServer().address() as AddressInfo, config.docsEnabled), 'Server');
  // Once the first response is done: V8's code cache of the bundle (when dist/main.js has
  // none yet), then V8's serving flags (or both before compactWhenIdle changes V8's flags).
  startServingAfterFirstResponse(app.getHttpServer());
  // Memory that start-up (or a later burst) grew is given back once the process is idle.
  compactWhenIdle();
  // A stray rejection (a driver's background error, say) is logged, not allowed to kill
  // a process that is serving other requests.
  process.on('unhandledRejection', (reason) => {
    logger.write('error', reason instanceof Error ? reason.message : String(reason), 'Unhandled', {
      stack: reason instanceof Error ? reason.stack : undefined,
    });
  });
  return app;
}

/** The address actually bound, and where a browser on this machine finds Swagger UI. */
function listeningMessage({ address, family, port }: AddressInfo, docsEnabled: boolean): string {
  const host = family === 'IPv6' ? `[${address}]` : address;
  const anyInterface = address === '0.0.0.0' || address === '::';
  const local = anyInterface ? `http://localhost:${port}` : `http://${host}:${port}`;
  const docs = docsEnabled ? `; Swagger UI at ${local}/docs` : '';
  return `Listening on http://${host}:${port}${anyInterface ? ' (all interfaces)' : ''}${docs}`;
}

/**
 * SIGTERM (Render sends it on every deploy) and SIGINT: stop accepting, let
 * in-flight requests finish, close the database, exit 0. Past the bound, exit 1.
 */
function handleShutdownSignals(app: NestFastifyApplication, config: AppConfig, logger: AppLogger): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.log(`${signal} received: finishing in-flight requests`, 'Server');
    app.get(Draining).start();
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${config.shutdownTimeoutMs} ms; exiting`, undefined, 'Server');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    // Keep-alive connections would hold the server open until their idle
    // timeout: close each as soon as its in-flight response is done.
    const server = app.getHttpServer();
    const reaper = setInterval(() => server.closeIdleConnections(), 100);
    app
      .close()
      // Spans still buffered are exported before the process ends.
      .then(() => tracing()?.shutdown())
      .then(
        () => {
          clearInterval(reaper);
          logger.log('Shut down cleanly', 'Server');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error(`Shutdown failed: ${String(error)}`, undefined, 'Server');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
