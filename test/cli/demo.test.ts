import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, runNode } from '../helpers/run-node.ts';

describe('npm run demo', () => {
  it('seeds the demo CRM and shows every decision path on the demo mails, again on a second run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-'));
    for (const run of [1, 2]) {
      const result = await runNode(cliPath, ['demo'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/demo CRM: 3 accounts, 3 contacts, 2 employees/);
      const rows = result.stdout
        .split('\n')
        .filter((line) => /^(ticket-created|filed|forwarded|ignored|api|failed) /.test(line));
      expect(rows, `run ${run}:\n${result.stdout}`).toHaveLength(11);
      const actions = new Set(rows.map((row) => row.split(/\s+/)[0]));
      expect([...actions].sort()).toEqual(['api', 'filed', 'forwarded', 'ignored', 'ticket-created']);
      expect(result.stdout).toMatch(/duplicate domain/);
      expect(result.stdout).toMatch(/active employee Tom Tech/);
      expect(result.stdout).toMatch(/skip phrase "Alert Self Healed"/);
    }
    expect(readdirSync(join(dir, 'data', 'mailbox', 'inbox'))).toEqual([]);
    expect(readdirSync(join(dir, 'data', 'mailbox', 'processed'))).toHaveLength(22);
  });
});
