import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { xmlDataKinds } from '../../src/domain/xml-api/data-kinds.ts';
import { xmlDataKindNames } from '../../src/domain/xml-api/xml-transaction.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';

describe('the data-kind table', () => {
  it('has all ten data kinds of the CRM’s XML API', () => {
    expect(Object.keys(xmlDataKinds).sort()).toEqual([...xmlDataKindNames].sort());
    expect(xmlDataKindNames).toHaveLength(10);
  });

  it('gives every code one column, under the prefix of its data kind', () => {
    for (const spec of Object.values(xmlDataKinds)) {
      const prefix = spec.recordIdField.replace(/RECID$/, '');
      const codes = [spec.recordIdField, ...spec.recordIdAliases, ...spec.fields.map((field) => field.code)];
      expect(new Set(codes).size, spec.dataKind).toBe(codes.length);
      for (const field of spec.fields.filter((candidate) => !candidate.deprecated)) {
        expect(field.code.startsWith(prefix), field.code).toBe(true);
      }
      const columns = spec.fields.filter((field) => !field.deprecated).map((field) => field.column);
      expect(new Set(columns).size, spec.dataKind).toBe(columns.length);
      for (const group of spec.requiredOnInsert) {
        for (const code of group) expect(codes, code).toContain(code);
      }
    }
  });

  it('names only columns the SQLite schema has', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xml-kinds-'));
    const path = join(dir, 'crm.sqlite');
    const store = SqliteCrmStore.open({ path });
    const db = new Database(path, { readonly: true });
    try {
      for (const spec of Object.values(xmlDataKinds)) {
        const columns = (db.prepare(`PRAGMA table_info(${spec.table})`).all() as { name: string }[]).map(
          (column) => column.name,
        );
        for (const field of spec.fields)
          expect(columns, `${spec.table}.${field.column}`).toContain(field.column);
        for (const audit of ['id', 'created_by', 'updated_by', 'created_at', 'updated_at']) {
          expect(columns, `${spec.table}.${audit}`).toContain(audit);
        }
      }
    } finally {
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
