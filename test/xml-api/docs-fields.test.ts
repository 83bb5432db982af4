import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  fieldsSectionMarkdown,
  readFieldsSection,
  withFieldsSection,
} from '../../src/domain/xml-api/data-kinds-markdown.ts';
import { xmlDataKinds } from '../../src/domain/xml-api/data-kinds.ts';

const markdown = readFileSync(new URL('../../docs/xml-api.md', import.meta.url), 'utf8');

describe('docs/xml-api.md field tables', () => {
  it('are exactly what the data-kind table generates (run `npm run docs:xml-api` after changing it)', () => {
    expect(readFieldsSection(markdown)).toBe(fieldsSectionMarkdown());
  });

  it('list every data kind with every field code, its column and its type', () => {
    const section = readFieldsSection(markdown) ?? '';
    for (const spec of Object.values(xmlDataKinds)) {
      expect(section, spec.dataKind).toContain(`### ${spec.dataKind}\n`);
      for (const field of spec.fields) {
        expect(section, field.code).toMatch(
          new RegExp(
            `^\\| \`${field.code}\` \\| \`${field.column}\` \\| [^|]*${field.link ? 'id' : field.type}`,
            'm',
          ),
        );
      }
    }
  });

  it('mark the reference’s unconfirmed names and the deprecated codes', () => {
    const section = readFieldsSection(markdown) ?? '';
    expect(section).toMatch(/^\| `FLDCRDEMAIL2` .*\*Unconfirmed name\.\*/m);
    expect(section).toMatch(/^\| `FLDSLCDESC` .*\*\*Deprecated\*\*, not the CRM's code: use `FLDSLPDESC`/m);
    for (const kind of ['OPPORTUNITY', 'DOCUMENT', 'APPOINTMENT-OR-TASK', 'KBARTICLE']) {
      expect(section).toContain(
        `*Unconfirmed names:* the CRM's public reference gives no field list for \`${kind}\``,
      );
    }
  });

  it('are rewritten in place, leaving the rest of the page alone', () => {
    const page = 'intro\n<!-- fields:begin -->\nold\n<!-- fields:end -->\noutro\n';
    expect(withFieldsSection(page, 'new\n')).toBe(
      'intro\n<!-- fields:begin -->\nnew\n<!-- fields:end -->\noutro\n',
    );
    expect(() => withFieldsSection('no markers', 'new\n')).toThrow(/fields:begin/);
  });
});
