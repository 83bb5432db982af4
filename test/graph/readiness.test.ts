import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/identity';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/composition-root.ts';
import { loadConfig } from '../../src/config/config.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { testEnv } from '../helpers/engine.ts';
import { startGraphApp, type GraphApp } from './graph-app.ts';
import { capturedLogger, clientState, token } from './helpers.ts';

/** The identity endpoint as the app sees it: hands out the stand-in's token until told to refuse. */
function switchableCredential(): TokenCredential & { refusing: boolean; requests: number } {
  const credential = {
    refusing: false,
    requests: 0,
    async getToken() {
      credential.requests += 1;
      if (credential.refusing) {
        throw new Error(
          'ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided.',
        );
      }
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return credential;
}

interface Readiness {
  status: number;
  text: string;
  body: { status: string; checks: Record<string, string> };
}

async function readyz(g: GraphApp): Promise<Readiness> {
  const response = await g.get('/readyz');
  return {
    status: response.status,
    text: response.body,
    body: JSON.parse(response.body) as Readiness['body'],
  };
}

function expectNoSecret(text: string): void {
  for (const secret of [token, clientState, 'unused-secret-value']) expect(text).not.toContain(secret);
}

describe('/readyz on Microsoft Graph, against the stand-in', () => {
  let g: GraphApp | null = null;
  afterEach(async () => {
    await g?.close();
    g = null;
  });

  it('answers 503 naming the credential while it cannot get a token, and 200 again once it can', async () => {
    const credential = switchableCredential();
    g = await startGraphApp({ graph: { credential, healthCacheMs: 0 } });

    const ready = await readyz(g);
    expect(ready.status, ready.text).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.checks).toEqual({
      database: 'ok',
      'graph-credential': 'ok',
      'graph-subscription': 'ok',
    });

    credential.refusing = true;
    const failing = await readyz(g);
    expect(failing.status).toBe(503);
    expect(failing.body.status).toBe('not ready');
    expect(failing.body.checks['graph-credential']).toMatch(
      /^cannot get a token for Microsoft Graph since .+: .*AADSTS7000215/,
    );
    expect(failing.body.checks.database).toBe('ok');
    expect(failing.body.checks['graph-subscription']).toBe('ok');
    expectNoSecret(failing.text);

    credential.refusing = false;
    const recovered = await readyz(g);
    expect(recovered.status, recovered.text).toBe(200);
    expect(recovered.body.checks['graph-credential']).toBe('ok');
    expect((await g.get('/healthz')).status).toBe(200);
    expectNoSecret(g.lines.join('\n'));
  });

  it('answers probes in quick succession without asking the identity endpoint each time', async () => {
    const credential = switchableCredential();
    g = await startGraphApp({ graph: { credential } });
    const before = credential.requests;
    for (let probe = 0; probe < 5; probe += 1) expect((await readyz(g)).status).toBe(200);
    // The token the intake got while starting is recent enough: at most one more request.
    expect(credential.requests - before).toBeLessThanOrEqual(1);
  });

  it('answers 503 once the subscription has expired without renewal', async () => {
    let clock = new Date();
    g = await startGraphApp({ graph: { now: () => clock, healthCacheMs: 0 } });
    expect((await readyz(g)).status).toBe(200);

    // Renewal checks run every 5 minutes of real time: none runs while the clock jumps past the expiry.
    clock = new Date(clock.getTime() + 4 * 24 * 3_600_000);
    const expired = await readyz(g);
    expect(expired.status).toBe(503);
    expect(expired.body.checks['graph-subscription']).toMatch(/^expired at .+: not renewed/);
    expect(expired.body.checks['graph-credential']).toBe('ok');
  });

  it('answers 503 when Graph refused to create the subscription', async () => {
    g = await startGraphApp({ graph: { healthCacheMs: 0 } });
    const graphApp = g;
    await graphApp.restart(async () => {
      // A start with nothing to reuse: the stored subscription and Graph's are gone, and creating one fails.
      const store = SqliteCrmStore.open({ path: graphApp.config.DATABASE_URL.slice('sqlite:'.length) });
      await store.setState(`graph.subscription:${graphApp.config.SUPPORT_MAILBOX!.toLowerCase()}`, null);
      await store.close();
      graphApp.standIn.subscriptions.clear();
      graphApp.standIn.injectFault({ method: 'POST', path: /^\/subscriptions$/, status: 403, times: 5 });
    });
    const missing = await readyz(graphApp);
    expect(missing.status).toBe(503);
    expect(missing.body.checks['graph-subscription']).toMatch(/^missing: .*HTTP 403/);
    expectNoSecret(missing.text);
  });
});

describe('/readyz on the local folder', () => {
  let app: App | null = null;
  let dir = '';
  afterEach(async () => {
    await app?.stop();
    app = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 naming the database once it cannot be reached, while /healthz stays 200', async () => {
    dir = mkdtempSync(join(tmpdir(), 'readiness-'));
    const config = loadConfig(testEnv(dir, { PORT: '0', POLL_INTERVAL_MS: '50' }));
    app = createApp({ config, logger: capturedLogger().logger });
    const port = await app.start();
    const base = `http://127.0.0.1:${port}`;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });

    await app.store.close();
    const down = await fetch(`${base}/readyz`);
    expect(down.status).toBe(503);
    const body = (await down.json()) as Readiness['body'];
    expect(body.status).toBe('not ready');
    expect(body.checks.database).toMatch(/^unreachable: /);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
