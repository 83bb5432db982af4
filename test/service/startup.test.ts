import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { freePort, mainPath, runNode, startNode, waitFor } from '../helpers/run-node.ts';

describe('the service on its embedded defaults', () => {
  it('answers /healthz within 10 s, creates data/crm.sqlite, is ready, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'start-'));
    const port = await freePort();
    const started = Date.now();
    const child = startNode(mainPath, [], { cwd: dir, env: { PORT: String(port), LOG_LEVEL: 'info' } });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const health = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        return response.status === 200 ? response : null;
      }, 10_000);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect(health.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
      expect(existsSync(join(dir, 'data', 'crm.sqlite'))).toBe(true);
      expect(existsSync(join(dir, 'data', 'mailbox', 'inbox'))).toBe(true);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      const missing = await fetch(`http://127.0.0.1:${port}/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: 'not found' });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, output).toBe(0);
    expect(output).toMatch(/"msg":"stopped"/);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT: must be a whole number/],
    [{ DATABASE_URL: 'foo:bar' }, /DATABASE_URL: must be sqlite:<path>/],
  ])('exits non-zero naming the variable for %o', async (env, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'badenv-'));
    const result = await runNode(mainPath, [], { cwd: dir, env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});
