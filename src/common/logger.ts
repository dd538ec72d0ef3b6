import type { LoggerService } from '@nestjs/common';
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';
import { currentRequestId } from './request-context.js';
import { currentTraceId } from './trace-context.js';

type Level = 'error' | 'warn' | 'info' | 'debug';

/** Nest's start-up detail, a line per module and per route: at debug only (the server logs a summary). */
const FRAMEWORK_DETAIL = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Where Nest reports a start-up failure that it also throws: the caller prints it (once). */
const FRAMEWORK_START_FAILURE = new Set(['ExceptionHandler', 'NestApplication']);

/**
 * What never reaches a log line, wherever it sits in a logged object: credentials in
 * request headers (a logged `req` or `headers`), and passwords and tokens in logged values.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-link-password"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-link-password"]',
  'headers["set-cookie"]',
  'authorization',
  'cookie',
  ...['password', 'currentPassword', 'newPassword', 'linkPassword', 'token', 'accessToken', 'refreshToken'].flatMap(
    (key) => [key, `*.${key}`],
  ),
];

/** Fields a development line leaves out: already in its message, or shown on their own. */
const PRETTY_HIDDEN = 'context,method,route,status';

/**
 * The service's logger: pino, one JSON line per entry in production (what Render's log
 * search and Fastify's users expect), a short readable line in development (pino-pretty,
 * a development dependency, when it is installed). Nest's own logs come through here
 * (this is the app's LoggerService); the current request id and trace id are added to
 * every line written while a request is being handled.
 */
export class AppLogger implements LoggerService {
  readonly pino: Logger;
  /** Where pino writes: the access log writes its lines there too (see access()). */
  private readonly stream: DestinationStream;
  /** Routes Nest has mapped so far (one RouterExplorer line each). */
  routesMapped = 0;
  /** Set while the server starts: Nest's own report of a failure is dropped, the thrown error is printed. */
  startingUp = false;

  /** `out` receives each line (tests capture them); stdout otherwise. */
  constructor(level: LogLevel, json: boolean, out?: (line: string) => void) {
    this.stream = destination(json, out);
    this.pino = pino(
      {
        level,
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
        mixin: requestFields,
      },
      this.stream,
    );
  }

  log(message: unknown, context?: string): void {
    if (context === 'RouterExplorer') this.routesMapped += 1;
    this.write(context && FRAMEWORK_DETAIL.has(context) ? 'debug' : 'info', message, context);
  }

  error(message: unknown, traceOrContext?: string, context?: string): void {
    // Nest calls error(message, stack, context) or error(message, context).
    const trace = context === undefined ? undefined : traceOrContext;
    const where = context ?? traceOrContext;
    if (this.startingUp && where && FRAMEWORK_START_FAILURE.has(where)) return;
    this.write('error', message, where, trace ? { stack: trace } : undefined);
  }

  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }

  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  verbose(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  fatal(message: unknown, context?: string): void {
    this.write('error', message, context);
  }

  enabled(level: Level): boolean {
    return this.pino.isLevelEnabled(level);
  }

  /** Structured entry; `fields` are redacted (REDACTED_PATHS) but should never hold bodies. */
  write(level: Level, message: unknown, context?: string, fields?: Record<string, unknown>): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const text = message instanceof Error ? message.message : String(message);
    this.pino[level]({ context, ...fields }, text);
  }

  /**
   * The access log's line (src/common/access-log.ts), at info: the line pino writes for
   * `fields` (level, time, the fields, msg), built here in one JSON.stringify. Its fields
   * are never secret (method, route template, status, duration, ids), so neither pino's
   * redaction (a selective clone of every logged object) nor its per-key serialisation is
   * paid on every request.
   */
  access(message: string, fields: AccessFields): void {
    if (!this.pino.isLevelEnabled('info')) return;
    this.stream.write(
      `${JSON.stringify({ level: 'info', time: new Date().toISOString(), ...fields, msg: message })}\n`,
    );
  }

  /** Writes what is still buffered (before the process exits). */
  flush(): void {
    this.pino.flush();
  }
}

/** One answered request, as the access log writes it. */
export interface AccessFields {
  requestId: string;
  traceId?: string;
  context: 'HTTP';
  method: string;
  route: string | null;
  status: number;
  durationMs: number;
}

function requestFields(): Record<string, string> {
  const requestId = currentRequestId();
  const traceId = currentTraceId();
  if (requestId === undefined && traceId === undefined) return {};
  return traceId === undefined ? { requestId: requestId! } : { requestId: requestId!, traceId };
}

function destination(json: boolean, out: ((line: string) => void) | undefined): DestinationStream {
  const prettify = json ? undefined : loadPrettifier(out === undefined && process.stdout.isTTY === true);
  if (!prettify) return out ? { write: out } : pino.destination({ dest: 1, sync: true });
  const write = out ?? ((line: string) => process.stdout.write(line));
  return { write: (line: string) => write(prettify(line)) };
}

type Prettify = (line: string) => string;

/** pino-pretty's formatter, or undefined where it is not installed (the image): JSON lines then. */
function loadPrettifier(colorize: boolean): Prettify | undefined {
  let pretty: { prettyFactory(options: Record<string, unknown>): Prettify };
  try {
    pretty = createRequire(import.meta.url)('pino-pretty');
  } catch {
    return undefined;
  }
  return pretty.prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: PRETTY_HIDDEN,
    singleLine: true,
    messageFormat: (log: Record<string, unknown>, messageKey: string) =>
      `${log.context ? `[${String(log.context)}] ` : ''}${String(log[messageKey])}`,
  });
}
