import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { exampleImport } from '../crm/crm-store.contract.ts';
import { cliPath, runNode } from '../helpers/run-node.ts';

describe('email-connector crm import / ticket', () => {
  let dir: string;
  const cli = (...args: string[]) => runNode(cliPath, args, { cwd: dir });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-'));
    writeFileSync(join(dir, 'crm.json'), JSON.stringify(exampleImport, null, 2));
  });

  it('imports the documented example, then prints ticket 0000042 with account ACME', async () => {
    const imported = await cli('crm', 'import', 'crm.json');
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(
      /accounts 1 \(\+1\), contacts 1 \(\+1\), employees 1 \(\+1\), tickets 1 \(\+1\)/,
    );

    const shown = await cli('ticket', '0000042', '--json');
    expect(shown.code).toBe(0);
    const view = JSON.parse(shown.stdout) as {
      ticket: { number: string; accountId: string };
      account: { id: string; company: string };
      documents: unknown[];
    };
    expect(view.ticket).toMatchObject({ number: '0000042', accountId: 'ACME' });
    expect(view.account).toMatchObject({ id: 'ACME', company: 'Acme Ltd' });
    expect(view.documents).toEqual([]);
  });

  it('changes no counts when the same file is imported again', async () => {
    await cli('crm', 'import', 'crm.json');
    const again = await cli('crm', 'import', 'crm.json');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /accounts 1 \(\+0\), contacts 1 \(\+0\), employees 1 \(\+0\), tickets 1 \(\+0\)/,
    );
  });

  it('rejects a file with one malformed record, naming record and field, and leaves the database unchanged', async () => {
    await cli('crm', 'import', 'crm.json');
    const bad = structuredClone(exampleImport) as { accounts: Record<string, unknown>[] };
    bad.accounts.push({ id: 'BETA', company: 'Beta', email1: 'not an address' });
    bad.accounts.push({ id: 'GAMMA', company: 'Gamma', email1: 'gamma@gamma.example' });
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    const failed = await cli('crm', 'import', 'bad.json');
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(
      /accounts\[1\] \(id "BETA"\)\.email1: must be an email address or a bare domain/,
    );
    expect(failed.stderr).toMatch(/nothing was imported/);
    const after = await cli('crm', 'import', 'crm.json');
    expect(after.stdout).toMatch(/accounts 1 \(\+0\)/);
  });

  it('rejects tickets 5 and 0005 in one file, naming both, and imports nothing', async () => {
    const twice = structuredClone(exampleImport) as { tickets: Record<string, unknown>[] };
    twice.tickets = [
      { id: 'T-A', number: '5', accountId: 'ACME', subject: 'Printer' },
      { id: 'T-B', number: '0005', accountId: 'ACME', subject: 'Scanner' },
    ];
    writeFileSync(join(dir, 'twice.json'), JSON.stringify(twice));
    const failed = await cli('crm', 'import', 'twice.json');
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain(
      'tickets[1] (id "T-B", number "0005").number: the same ticket number as tickets[0] (id "T-A", number "5")',
    );
    expect(failed.stderr).toMatch(/nothing was imported/);
    const after = await cli('crm', 'import', 'crm.json');
    expect(after.stdout).toMatch(/accounts 1 \(\+1\)/);
  });

  it('fails with a clear message for an unknown ticket number', async () => {
    await cli('crm', 'import', 'crm.json');
    const missing = await cli('ticket', '0000099', '--json');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no ticket with number 0000099/);
    expect(missing.stdout).toBe('');
  });

  it('explains unreadable files and unknown commands', async () => {
    const unreadable = await cli('crm', 'import', 'missing.json');
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toMatch(/cannot read missing\.json/);
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
