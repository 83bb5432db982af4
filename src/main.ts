import { ConfigError, describeConfig, loadConfig } from './config/config.ts';
import { createLogger } from './log/logger.ts';
import { createApp } from './composition-root.ts';

/** The service: HTTP (health, webhooks), intake, processing, sending. Stops cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`email-connector: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  let app;
  try {
    app = createApp({ config, logger });
  } catch (error) {
    console.error(`email-connector: ${(error as Error).message}`);
    process.exit(2);
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
      .then(() => {
        logger.info('stopped');
        logger.flush?.();
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
    logger.fatal({ err: { message: (error as Error).message } }, 'could not start');
    process.exit(1);
  }
}

void main();
