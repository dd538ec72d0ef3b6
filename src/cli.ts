import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AuditLog } from './audit/audit-log.js';
import { CacheGenerations } from './cache/cache-generations.js';
import { RedisConnection } from './redis/redis.connection.js';
import { AppLogger } from './common/logger.js';
import { type AppConfig, ConfigError, loadConfig } from './config/config.js';
import { loadEnvFile } from './config/env-file.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { DirectoryLockedError } from './database/directory-lock.js';
import { openEmbeddedDatabase } from './database/embedded.js';
import { revertLastMigration, runPendingMigrations } from './database/migrator.js';
import { formatOutbox } from './mail/outbox-listing.js';
import { STORAGE_DRIVERS, type StorageDriverName } from './storage/storage-config.js';
import { MailOutbox } from './mail/mail-outbox.js';
import type { Role } from './common/principal.js';
import { UsersRepository } from './users/users.repository.js';

/** A mistake in how the command was called: printed alone, exit code 2. */
class UsageError extends Error {}

/** The command cannot do what was asked (e.g. no such user): printed alone, exit code 1. */
class CommandError extends Error {}

interface Context {
  config: AppConfig;
  logger: AppLogger;
}

type Command = (dataSource: DataSource, args: string[], context: Context) => Promise<string>;

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
  'users:promote': {
    usage: 'users:promote <email>         make a user an administrator',
    run: (dataSource, args, context) => setRole(dataSource, args, 'admin', context),
  },
  'users:demote': {
    usage: 'users:demote <email>          make an administrator a plain user',
    run: (dataSource, args, context) => setRole(dataSource, args, 'user', context),
  },
  'mail:outbox': {
    usage: 'mail:outbox [count]           the latest mails (default 10), with their links in development',
    run: async (dataSource, args) => {
      const count = args[0] === undefined ? 10 : Number(args[0]);
      if (!Number.isInteger(count) || count < 1 || count > 1000 || args.length > 1) {
        throw new UsageError('Usage: node dist/cli.js mail:outbox [count from 1 to 1000]');
      }
      return formatOutbox(await new MailOutbox(dataSource).latest(count));
    },
  },
  'storage:migrate': {
    usage: 'storage:migrate --to s3|postgres  move document bytes to that driver (resumable, sha256-verified)',
    run: async (dataSource, args, { config }) => {
      const to =
        args[0] === '--to' && args.length === 2 ? args[1] : args[0]?.startsWith('--to=') ? args[0].slice(5) : '';
      if (!(STORAGE_DRIVERS as readonly string[]).includes(to) || (args[0] !== '--to' && args.length !== 1)) {
        throw new UsageError('Usage: node dist/cli.js storage:migrate --to s3|postgres');
      }
      if (to === 's3' && !config.storage.s3)
        throw new CommandError('Set S3_BUCKET (and the other S3_ settings) first.');
      // Loaded here: the AWS SDK is no part of the other commands' start-up.
      const { DocumentStorage } = await import('./storage/document-storage.js');
      const { migrateStorage } = await import('./storage/storage-migrate.js');
      const report = await migrateStorage(
        dataSource,
        await DocumentStorage.create(dataSource, config),
        to as StorageDriverName,
        (line) => process.stderr.write(`${line}\n`),
      );
      const done = `Moved ${report.moved} version(s), ${report.bytes} bytes, to ${to}.`;
      if (report.mismatched.length > 0) {
        throw new CommandError(
          `${done} ${report.mismatched.length} version(s) did not match their sha256 and were left where they were: ${report.mismatched.join(', ')}`,
        );
      }
      return to === config.storage.driver ? done : `${done} Set STORAGE_DRIVER=${to} so that new uploads go there too.`;
    },
  },
};

async function setRole(dataSource: DataSource, args: string[], role: Role, context: Context): Promise<string> {
  const [email] = args;
  if (!email || args.length !== 1)
    throw new UsageError(`Usage: node dist/cli.js users:${role === 'admin' ? 'promote' : 'demote'} <email>`);
  const user = await new UsersRepository(dataSource).setRoleByEmail(email.trim().toLowerCase(), role);
  if (!user) throw new CommandError(`No user has the email ${email}.`);
  await new AuditLog(dataSource).record({
    type: 'user.role-changed',
    userId: user.id,
    actorId: null,
    details: { to: role, by: 'cli' },
  });
  const done = `${user.email} is now ${role === 'admin' ? 'an administrator' : 'a plain user'}.`;
  return `${done}${await invalidateCache(user.id, done, context)}`;
}

/**
 * Running servers cache the user's answers (their role among them): with Redis,
 * bump the user's generation there, as a server does after its own writes, so
 * every instance stops serving them at once. Without Redis each server's cache
 * is in its own memory, out of reach: say how long it may lag.
 */
async function invalidateCache(userId: string, done: string, { config, logger }: Context): Promise<string> {
  if (!config.redisUrl) {
    return config.embeddedDatabase
      ? ''
      : `\nNo REDIS_URL: a running server may show the old role from its cache for up to ${config.cacheTtlMs} ms.`;
  }
  const redis = new RedisConnection(config, logger);
  try {
    await redis.connect();
    await new CacheGenerations(redis, config, logger).increment(userId);
    return '';
  } catch (error) {
    throw new CommandError(
      `${done} But the cache could not be invalidated (${error instanceof Error ? error.message : String(error)}): ` +
        `running servers may show the old role for up to ${config.cacheTtlMs} ms.`,
    );
  } finally {
    await redis.onApplicationShutdown();
  }
}

/** Which database a command touches, without the password. */
function describeDatabase(config: AppConfig): string {
  if (config.databaseUrl === undefined) return `embedded, in ${config.dataDir} (no DATABASE_URL)`;
  const url = new URL(config.databaseUrl);
  const user = url.username ? ` as ${decodeURIComponent(url.username)}` : '';
  return `PostgreSQL ${url.hostname}:${url.port || '5432'}/${decodeURIComponent(url.pathname.slice(1))}${user} (DATABASE_URL)`;
}

async function openEmbedded(config: AppConfig, logger: AppLogger): ReturnType<typeof openEmbeddedDatabase> {
  try {
    return await openEmbeddedDatabase(config.dataDir, logger);
  } catch (error) {
    if (!(error instanceof DirectoryLockedError)) throw error;
    // The embedded database has one process at a time: most likely a running `npm start`.
    throw new CommandError(
      `The embedded database in ${error.directory} is open in another process (pid ${error.ownerPid}), ` +
        'most likely the running server. Stop the server and run this command again, or use the ' +
        'running server\'s admin routes instead (e.g. PATCH /users/{id} with {"role": "admin"} as an ' +
        'administrator; see /docs).',
    );
  }
}

function usage(): string {
  return `Usage: node dist/cli.js <command> [args]\n\n${Object.values(COMMANDS)
    .map((c) => `  ${c.usage}`)
    .join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) throw new UsageError(name ? `Unknown command: ${name}\n\n${usage()}` : usage());
  loadEnvFile();
  const config = loadConfig();
  const logger = new AppLogger(config.logLevel === 'debug' ? 'debug' : 'warn', false, (line) =>
    process.stderr.write(line),
  );
  // On stderr, so that stdout stays the command's answer alone.
  process.stderr.write(`Database: ${describeDatabase(config)}\n`);
  const embedded = config.embeddedDatabase ? await openEmbedded(config, logger) : undefined;
  const dataSource = new DataSource(dataSourceOptions(config, embedded?.pgOptions));
  try {
    await dataSource.initialize();
    process.stdout.write(`${await command.run(dataSource, args, { config, logger })}\n`);
    return 0;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError || error instanceof ConfigError;
    const expected = usage || error instanceof CommandError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${expected ? message.trimEnd() : `Failed: ${message}`}\n`);
    process.exit(usage ? 2 : 1);
  },
);
