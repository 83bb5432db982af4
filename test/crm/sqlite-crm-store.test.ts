import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { sqliteMigrations } from '../../src/crm/sqlite/sqlite-migrations.ts';
import { describeCrmStoreContract } from './crm-store.contract.ts';

const tempFile = (): string => join(mkdtempSync(join(tmpdir(), 'crm-')), 'crm.sqlite');

describeCrmStoreContract('SQLite file', async () => SqliteCrmStore.open({ path: tempFile() }));

describe('SQLite adapter', () => {
  it('creates the database folder and applies every migration once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'crm-')), 'nested', 'dir', 'crm.sqlite');
    const store = SqliteCrmStore.open({ path });
    expect(store.schemaVersion).toBe(sqliteMigrations.at(-1)!.version);
    await store.close();
    const again = SqliteCrmStore.open({ path });
    expect(again.schemaVersion).toBe(sqliteMigrations.at(-1)!.version);
    await again.close();
  });
});

describe('SQLite look-ups', () => {
  it('matches addresses, domains, employees, ticket numbers and thread references by index, never by scan', async () => {
    const store = SqliteCrmStore.open({ path: tempFile() });
    const plans = store.explainLookups();
    for (const [name, steps] of Object.entries(plans)) {
      expect(steps.length, name).toBeGreaterThan(0);
      for (const step of steps.filter((detail) => /^(SCAN|SEARCH)/.test(detail))) {
        // A SCAN of a temporary b-tree (UNION, ORDER BY) is fine; a SCAN of a table is not.
        expect(step, `${name}: ${steps.join(' | ')}`).not.toMatch(
          /^SCAN (accounts|contacts|employees|tickets|thread_refs)\b|^SCAN [a-z]\b/,
        );
      }
      expect(
        steps.some((detail) => /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|PRIMARY KEY/.test(detail)),
        name,
      ).toBe(true);
    }
    await store.close();
  });
});
