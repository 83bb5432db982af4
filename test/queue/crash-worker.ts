// A worker process for the crash test: runs the service on the given folders until killed.
import { loadConfig } from '../../src/config/config.ts';
import { createApp } from '../../src/composition-root.ts';
import { createLogger } from '../../src/log/logger.ts';

const config = loadConfig(process.env);
const app = createApp({ config, logger: createLogger({ level: process.env.WORKER_LOG_LEVEL ?? 'silent' }) });
await app.start();
process.stdout.write('started\n');
