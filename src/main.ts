// First: Application Insights (when configured) must start before the modules it observes.
import { telemetry } from './observability/start-telemetry.ts';
import { pino } from 'pino';
import { ConfigError, describeConfig, loadConfig, type Config } from './config/config.ts';
import { StoreOpenError } from './crm/crm-store.ts';
import { createLogger } from './log/logger.ts';
import { MailboxError } from './mailbox/mailbox-error.ts';
import { createApp, type App } from './composition-root.ts';
import { telemetryLogDestination } from './observability/log-bridge.ts';

/** Exit code of a start-up mistake an operator fixes in the configuration or the host. */
const misconfigured = 2;

/**
 * One line for a start-up failure that names the variable and the fix, or null when the failure is not one of
 * the mistakes we recognise. Operators read it in a terminal or App Service's log stream: no stack trace.
 */
function describeStartupError(error: unknown, config: Config): string | null {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof StoreOpenError) return `DATABASE_URL: ${error.message}`;
  // Only the local folder fails start-up with a MailboxError: Graph failures are logged and retried.
  if (error instanceof MailboxError && !config.SUPPORT_MAILBOX) return `MAILBOX_DIR: ${error.message}`;
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return `PORT: port ${config.PORT} is already in use by another process; stop that process, or set PORT to a free port`;
    case 'EACCES':
      if ((error as NodeJS.ErrnoException).syscall === 'listen')
        return `PORT: not allowed to listen on port ${config.PORT} (ports below 1024 need privileges); set PORT to 1024 or above`;
  }
  return null;
}

/** The service: HTTP (health, webhooks), intake, processing, sending. Stops cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`email-connector: ${error.message}`);
      process.exit(misconfigured);
    }
    throw error;
  }
  const logger = createLogger({
    level: config.LOG_LEVEL,
    // With Application Insights, each line also goes there, tied to the trace it was written in.
    ...(telemetry ? { destination: telemetryLogDestination(pino.destination({ dest: 1, sync: true })) } : {}),
  });
  const fail = async (error: unknown, app: App | null): Promise<never> => {
    // Whatever started (the server, the worker) is stopped so that the database is closed cleanly.
    if (app) await Promise.race([app.stop().catch(() => undefined), delay(5_000)]);
    const line = describeStartupError(error, config);
    const message = error instanceof Error ? error.message : String(error);
    // Building the service only reads configuration and files it names: what fails there is configuration.
    if (line || !app) {
      console.error(`email-connector: ${line ?? message}`);
      logger.flush?.();
      process.exit(misconfigured);
    }
    console.error(`email-connector: could not start: ${message}`);
    logger.fatal({ err: error }, 'could not start');
    logger.flush?.();
    process.exit(1);
  };

  let app: App;
  try {
    app = createApp({ config, logger });
  } catch (error) {
    return fail(error, null);
  }
  logger.debug({ config: describeConfig(config) }, 'configuration');
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    app
      .stop()
      .then(async () => {
        logger.info('stopped');
        logger.flush?.();
        await telemetry?.shutdown().catch(() => undefined);
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: { message: (error as Error).message } }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await app.start();
  } catch (error) {
    stopping = true;
    await fail(error, app);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

void main();
