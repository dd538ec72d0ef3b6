import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/config.js';
import { loadEnvFile } from './config/env-file.js';
import { startServer } from './server.js';
import { loadTracing } from './tracing/load.js';

// No top-level await: dist/server.cjs, this module's bundle, is CommonJS (src/launcher.ts).
void (async () => {
  try {
    loadEnvFile();
    const config = loadConfig(process.env, { keepDevelopmentSecret: true });
    // OpenTelemetry only with OTEL_EXPORTER_OTLP_ENDPOINT: its own bundle, beside this one.
    await loadTracing(config, new URL('./tracing.js', import.meta.url).href);
    await startServer(config);
  } catch (error) {
    process.stderr.write(`${startFailure(error)}\n`);
    process.exit(1);
  }
})();

/** One clear message, no stack, for the mistakes an operator can fix; the stack otherwise. */
function startFailure(error: unknown): string {
  if (error instanceof ConfigError || (error instanceof Error && error.name === 'DirectoryLockedError')) {
    return error.message;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof Error && (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')) {
    return `Cannot listen: ${error.message}. Stop the process using that address, or set PORT (or HOST) to another.`;
  }
  return `Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}
