import { startTelemetry, type Telemetry } from './telemetry.ts';

/**
 * Imported first by src/main.ts, so telemetry starts before the service's modules run. It reads the variable
 * itself because configuration is validated afterwards (the schema in src/config/config.ts documents it, and
 * rejects an unresolved Key Vault reference with its usual message). Telemetry that cannot start costs the
 * service nothing but the telemetry.
 */
async function start(): Promise<Telemetry | null> {
  const connectionString = process.env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim() ?? '';
  if (connectionString.startsWith('@Microsoft.KeyVault(')) return null;
  try {
    return await startTelemetry(connectionString || null);
  } catch (error) {
    console.error(`email-connector: telemetry not started: ${(error as Error).message}`);
    return null;
  }
}

export const telemetry = await start();
