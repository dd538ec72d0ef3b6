import type { LoggerService } from '@nestjs/common';
import type { LogLevel } from '../config/config.js';
import { currentRequestId } from './request-context.js';

type Level = 'error' | 'warn' | 'info' | 'debug';

/** Fields a development line leaves out: already in its message, or multi-line. */
const DEV_HIDDEN_FIELDS = new Set(['stack', 'requestId', 'method', 'route', 'status']);

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/** Nest's start-up detail, a line per module and per route: at debug only (the server logs a summary). */
const FRAMEWORK_DETAIL = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Where Nest reports a start-up failure that it also throws: the caller prints it (once). */
const FRAMEWORK_START_FAILURE = new Set(['ExceptionHandler', 'NestApplication']);

/**
 * One line per message: JSON in production (for Render's log search), a short
 * readable line in development. The current request id is added to every line
 * written while a request is being handled.
 */
export class AppLogger implements LoggerService {
  private readonly threshold: number;
  /** Routes Nest has mapped so far (one RouterExplorer line each). */
  routesMapped = 0;
  /** Set while the server starts: Nest's own report of a failure is dropped, the thrown error is printed. */
  startingUp = false;

  constructor(
    level: LogLevel,
    private readonly json: boolean,
    private readonly out: (line: string) => void = (line) => process.stdout.write(line),
  ) {
    this.threshold = RANK[level];
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
    return RANK[level] <= this.threshold;
  }

  /** Structured entry; `fields` must never hold bodies, tokens or passwords. */
  write(level: Level, message: unknown, context?: string, fields?: Record<string, unknown>): void {
    if (RANK[level] > this.threshold) return;
    const requestId = (fields?.requestId as string | undefined) ?? currentRequestId();
    const text = message instanceof Error ? message.message : String(message);
    if (this.json) {
      this.out(
        `${JSON.stringify({ time: new Date().toISOString(), level, context, msg: text, ...fields, requestId })}\n`,
      );
      return;
    }
    const extras = fields
      ? Object.entries(fields)
          .filter(([key]) => !DEV_HIDDEN_FIELDS.has(key))
          .map(([key, value]) => `${key}=${String(value)}`)
          .join(' ')
      : '';
    const parts = [
      new Date().toISOString().slice(11, 23),
      level.toUpperCase().padEnd(5),
      context ? `[${context}]` : '',
      text,
      extras,
      requestId ? `(${requestId})` : '',
    ].filter(Boolean);
    this.out(`${parts.join(' ')}\n`);
    if (fields?.stack) this.out(`${String(fields.stack)}\n`);
  }
}
