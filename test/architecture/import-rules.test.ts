import { appendFileSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkImportRules, describeViolations } from './import-rules.ts';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

/** A source tree in a temporary folder: path → file text. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'imports-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('import rules', () => {
  it('hold for src/: pure domain, adapters only through the composition root, no cycles', () => {
    const violations = checkImportRules(src);
    expect(violations, describeViolations(violations)).toEqual([]);
  });

  it('fail on src/ as soon as one file imports an adapter directly', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'src-')), 'src');
    cpSync(src, copy, { recursive: true });
    appendFileSync(
      join(copy, 'cli', 'crm-commands.ts'),
      `\nimport { SqliteCrmStore } from '../crm/sqlite/sqlite-crm-store.ts';\nexport const opened = SqliteCrmStore;\n`,
    );
    // Whatever src/ holds today, the one added import is what the checker adds.
    const before = new Set(checkImportRules(src).map((v) => `${v.file}: ${v.message}`));
    const added = checkImportRules(copy).filter((v) => !before.has(`${v.file}: ${v.message}`));
    expect(added.map((v) => [v.rule, v.file])).toEqual([
      ['only-the-composition-root-imports-adapters', 'cli/crm-commands.ts'],
    ]);
  });

  it('report a domain file that imports the CRM store, a package or a Node built-in', () => {
    const root = tree({
      'domain/rule.ts': `import type { CrmStore } from '../crm/crm-store.ts';\nexport const a = 1;\n`,
      'domain/hashing.ts': `import { createHash } from 'node:crypto';\nexport const b = createHash;\n`,
      'domain/parsing.ts': `export { XMLParser } from 'fast-xml-parser';\n`,
      'domain/fine.ts': `import { a } from './rule.ts';\nimport type { b } from './hashing.ts';\nexport const c = a;\n`,
      'crm/crm-store.ts': `export interface CrmStore { ping(): Promise<void> }\n`,
    });
    expect(checkImportRules(root).map((v) => [v.rule, v.file])).toEqual([
      ['domain-imports-only-domain', 'domain/hashing.ts'],
      ['domain-imports-only-domain', 'domain/parsing.ts'],
      ['domain-imports-only-domain', 'domain/rule.ts'],
    ]);
  });

  it('report the CLI importing the SQLite adapter, even for a type, and one adapter importing another', () => {
    const root = tree({
      'cli/crm-commands.ts': `import { SqliteCrmStore } from '../crm/sqlite/sqlite-crm-store.ts';\nexport const s = SqliteCrmStore;\n`,
      'doctor/check.ts': `import type { LocalMailbox } from '../mailbox/local/local-mailbox.ts';\nexport type L = LocalMailbox;\n`,
      'mailbox/graph/graph-mailbox.ts': `import { LocalMailbox } from '../local/local-mailbox.ts';\nexport const m = LocalMailbox;\n`,
      'crm/sqlite/sqlite-crm-store.ts': `import { migrations } from './sqlite-migrations.ts';\nexport class SqliteCrmStore { m = migrations }\n`,
      'crm/sqlite/sqlite-migrations.ts': `export const migrations = [];\n`,
      'mailbox/local/local-mailbox.ts': `export class LocalMailbox {}\n`,
      'composition-root.ts': `import { SqliteCrmStore } from './crm/sqlite/sqlite-crm-store.ts';\nimport { LocalMailbox } from './mailbox/local/local-mailbox.ts';\nexport const parts = [SqliteCrmStore, LocalMailbox];\n`,
    });
    const violations = checkImportRules(root);
    expect(violations.map((v) => [v.rule, v.file])).toEqual([
      ['only-the-composition-root-imports-adapters', 'cli/crm-commands.ts'],
      ['only-the-composition-root-imports-adapters', 'doctor/check.ts'],
      ['only-the-composition-root-imports-adapters', 'mailbox/graph/graph-mailbox.ts'],
    ]);
    expect(violations[0]!.message).toMatch(/crm\/sqlite\//);
  });

  it('report an import cycle, however long, once', () => {
    const root = tree({
      'http/graph-webhook.ts': `import type { Intake } from '../mailbox/graph/graph-intake.ts';\nexport type Hook = Intake;\n`,
      'mailbox/graph/graph-intake.ts': `import { relay } from './relay.ts';\nexport type Intake = typeof relay;\n`,
      'mailbox/graph/relay.ts': `import type { Hook } from '../../http/graph-webhook.ts';\nexport const relay = (h: Hook) => h;\n`,
      'processing/self.ts': `export * from './self.ts';\n`,
      'processing/fine.ts': `import './self.ts';\n`,
    });
    const violations = checkImportRules(root).filter((v) => v.rule === 'no-import-cycles');
    expect(violations.map((v) => v.message)).toEqual([
      'import cycle between http/graph-webhook.ts, mailbox/graph/graph-intake.ts, mailbox/graph/relay.ts',
      'import cycle between processing/self.ts',
    ]);
  });
});
