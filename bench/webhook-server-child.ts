// The webhook under load, in a process of its own as in the service (not in the benchmark's, whose heap holds the
// corpus): `webhook-server-child.ts service DB_FILE` serves the service's HTTP stack on a SQLite file,
// `webhook-server-child.ts bare` a node:http server that only reads each body and answers 202. Prints
// `{"url": …}` once listening; closes everything and exits when stdin ends.
import { createServer as createPlainServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SqliteCrmStore } from '../src/crm/sqlite/sqlite-crm-store.ts';
import { frontDoor } from '../src/http/front-door.ts';
import { createGraphWebhookRouter } from '../src/http/graph-webhook.ts';
import { createHttpApp } from '../src/http/http-app.ts';
import { createServer } from '../src/http/http-server.ts';
import { createLogger } from '../src/log/logger.ts';
import { clientState } from '../test/graph/helpers.ts';

const [mode, path, subscriptionId] = process.argv.slice(2);
let store: SqliteCrmStore | null = null;
let server: Server;
if (mode === 'service') {
  store = SqliteCrmStore.open({ path: path! });
  // The service's own HTTP stack: its server, the front door that answers Graph before Express, the Express app.
  const logger = createLogger({ level: 'silent' });
  const router = createGraphWebhookRouter({
    store,
    logger,
    clientState,
    isKnownSubscription: (id) => id === subscriptionId,
    onLifecycle: () => undefined,
  });
  const app = createHttpApp({ logger, routers: [router], readiness: async () => ({}) });
  server = createServer(frontDoor(app, [router.fastRoute], logger));
} else {
  server = createPlainServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(202, { 'content-length': 0 });
      res.end();
    });
  });
}
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/webhooks/graph` })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close(() => void (store?.close() ?? Promise.resolve()).then(() => process.exit(0)));
});
