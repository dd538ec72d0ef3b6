import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AppLogger } from './common/logger.js';
import { ConfigError, loadConfig } from './config/config.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { openEmbeddedDatabase } from './database/embedded.js';
import { revertLastMigration, runPendingMigrations } from './database/migrator.js';

/** A mistake in how the command was called: printed alone, exit code 2. */
class UsageError extends Error {}

type Command = (dataSource: DataSource, args: string[]) => Promise<string>;

const COMMANDS: Record<string, { usage: string; run: Command }> = {
  'migration:run': {
    usage: 'migration:run                 apply pending migrations',
    run: async (dataSource) => {
      const applied = await runPendingMigrations(dataSource);
      return applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'No pending migrations.';
    },
  },
  'migration:revert': {
    usage: 'migration:revert              revert the most recent migration',
    run: async (dataSource) => {
      await revertLastMigration(dataSource);
      return 'Reverted the most recent migration.';
    },
  },
};

function usage(): string {
  return `Usage: node dist/cli.js <command> [args]\n\n${Object.values(COMMANDS)
    .map((c) => `  ${c.usage}`)
    .join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(name ? `Unknown command: ${name}\n\n${usage()}` : usage());
    return 2;
  }
  const config = loadConfig();
  const logger = new AppLogger(config.logLevel === 'debug' ? 'debug' : 'warn', false, (line) =>
    process.stderr.write(line),
  );
  const embedded = config.embeddedDatabase ? await openEmbeddedDatabase(config.dataDir, logger) : undefined;
  const dataSource = new DataSource(dataSourceOptions(config, embedded?.pgOptions));
  try {
    await dataSource.initialize();
    process.stdout.write(`${await command.run(dataSource, args)}\n`);
    return 0;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const expected = error instanceof UsageError || error instanceof ConfigError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${expected ? message : `Failed: ${message}`}\n`);
    process.exit(expected ? 2 : 1);
  },
);

export { UsageError };
