import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp, createLogger, startDraining } from './app.js';
import type { AppLogger } from './common/logger.js';
import type { AppConfig } from './config/config.js';

export interface StartOptions {
  logger?: AppLogger;
  /** Called after the app is built and before it listens. */
  beforeListen?: (app: NestFastifyApplication) => void | Promise<void>;
}

export async function startServer(config: AppConfig, options: StartOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger(config);
  if (config.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random one, so tokens stop working on restart', 'Config');
  }
  const app = await createApp(config, { logger });
  // From the moment the app exists (before it listens), a SIGTERM drains and exits 0.
  handleShutdownSignals(app, config, logger);
  await options.beforeListen?.(app);
  await app.listen({ port: config.port, host: config.host });
  logger.log(`Listening on ${await app.getUrl()}${config.docsEnabled ? ' (Swagger UI at /docs)' : ''}`, 'Server');
  // A stray rejection (a driver's background error, say) is logged, not allowed to kill
  // a process that is serving other requests.
  process.on('unhandledRejection', (reason) => {
    logger.write('error', reason instanceof Error ? reason.message : String(reason), 'Unhandled', {
      stack: reason instanceof Error ? reason.stack : undefined,
    });
  });
  return app;
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
    startDraining(app);
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${config.shutdownTimeoutMs} ms; exiting`, undefined, 'Server');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    // Keep-alive connections would hold the server open until their idle
    // timeout: close each as soon as its in-flight response is done.
    const server = app.getHttpServer();
    const reaper = setInterval(() => server.closeIdleConnections(), 100);
    app.close().then(
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
