import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/config.js';
import { loadEnvFile } from './config/env-file.js';
import { startServer } from './server.js';

try {
  loadEnvFile();
  await startServer(loadConfig(process.env, { keepDevelopmentSecret: true }));
} catch (error) {
  // One clear message, no stack, for the mistakes an operator can fix.
  if (error instanceof ConfigError || (error instanceof Error && error.name === 'DirectoryLockedError')) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(
      `Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
}
