/** PostgreSQL connection failure classes (08), and shutdowns (57P01-57P03). */
const UNAVAILABLE_SQLSTATES = /^(08\w{3}|57P0[123])$/;
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is not established|Cannot execute operation on .* connection because connection is not yet established/i;

/** The database cannot be reached (down, restarting, not yet connected): a 503, not a 500. */
export function isDatabaseUnavailable(exception: unknown): boolean {
  if (!(exception instanceof Error)) return false;
  const driverError = (exception as { driverError?: { code?: string; message?: string } }).driverError;
  const code = driverError?.code ?? (exception as NodeJS.ErrnoException).code;
  if (code && (UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  // A connection lost mid-transaction surfaces as a released query runner.
  if (
    [
      'CannotExecuteNotConnectedError',
      'QueryRunnerAlreadyReleasedError',
      'QueryRunnerProviderAlreadyReleasedError',
    ].includes(exception.name)
  ) {
    return true;
  }
  return UNAVAILABLE_MESSAGES.test(driverError?.message ?? exception.message);
}
