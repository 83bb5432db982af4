import { createRequire } from 'node:module';
import type { AzureMonitorOpenTelemetryOptions } from '@azure/monitor-opentelemetry';
import { redactingSpanProcessor } from './redacting-span-processor.ts';

/** Application Insights, started: flush it before the process exits. */
export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Sends traces and logs to Application Insights (the Azure Monitor OpenTelemetry distro). Nothing is loaded
 * without a connection string, so the embedded default starts no exporter and no instrumentation.
 */
export async function startTelemetry(connectionString: string | null): Promise<Telemetry | null> {
  if (!connectionString) return null;
  const { useAzureMonitor, shutdownAzureMonitor } = await import('@azure/monitor-opentelemetry');
  const options: AzureMonitorOpenTelemetryOptions = {
    azureMonitorExporterOptions: { connectionString },
    spanProcessors: [redactingSpanProcessor()],
    // Our spans and log lines say what happened to a message; the distro's own metrics would only add cost.
    enableLiveMetrics: false,
    enableStandardMetrics: false,
  };
  useAzureMonitor(options);
  // The HTTP instrumentation patches node:http when it is required; this process imports it as an ES module,
  // which the hook does not see: requiring it once here applies the patch to every server created later.
  const require = createRequire(import.meta.url);
  require('node:http');
  require('node:https');
  return { shutdown: () => shutdownAzureMonitor() };
}
