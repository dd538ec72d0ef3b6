import pg from 'pg';
import { packageInfo } from '../common/package-info.js';
import { setTracing, type Tracing } from '../common/trace-context.js';
import type { AppConfig } from '../config/config.js';
import type { startTracing } from '../tracing.js';

/**
 * Loads OpenTelemetry (the separate bundle dist/tracing.js, or dist/src/tracing.js
 * unbundled) when OTEL_EXPORTER_OTLP_ENDPOINT is set, before the server is built.
 * Without it, nothing is imported and the trace hooks stay no-ops.
 */
export async function loadTracing(config: AppConfig, moduleUrl: string): Promise<Tracing | undefined> {
  if (!config.tracing || process.env.OTEL_SDK_DISABLED === 'true') return undefined;
  const module = (await import(moduleUrl)) as { startTracing: typeof startTracing };
  const delay = Number(process.env.OTEL_BSP_SCHEDULE_DELAY);
  const tracing = module.startTracing({
    config: config.tracing,
    scheduleDelayMs: Number.isInteger(delay) && delay > 0 ? delay : undefined,
    serviceVersion: packageInfo.version,
    pg: pg as unknown as Parameters<typeof startTracing>[0]['pg'],
  });
  setTracing(tracing);
  return tracing;
}
