import { xmlDataKinds } from './data-kinds.ts';
import type { XmlDataKindSpec, XmlFieldSpec, XmlFieldType } from './data-kinds.ts';

/** The markers around the part of docs/xml-api.md that `npm run docs:xml-api` writes. */
export const fieldsBeginMarker = '<!-- fields:begin -->';
export const fieldsEndMarker = '<!-- fields:end -->';

const typeMeanings: Readonly<Record<XmlFieldType, string>> = {
  text: 'any text',
  id: 'a record id on one line, kept exactly as written; "id → account" and the like name the record it must be',
  email: 'an address or a bare domain',
  datetime:
    '`YYYY-MM-DD`, optionally followed by `THH:MM[:SS]` (or a space) and a zone (`Z`, `+01:00`), stored as written',
  time: '`HH:MM[:SS]`, or a `datetime`, stored as written',
  decimal: 'digits with an optional `-` and one `.` (`1.5`, `95.00`), stored as written',
  digits: 'digits only (`0000042`)',
  flag: '`Y`/`N` (also `yes`/`no`, `true`/`false`, `1`/`0`), stored as 1/0',
  choice: 'one of the values listed (any case), stored as shown',
};

const code = (value: string): string => `\`${value}\``;
const cell = (value: string): string => value.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;

function requiredOnInsert(spec: XmlDataKindSpec): string {
  return spec.requiredOnInsert.map((group) => group.map(code).join(' or ')).join('; ') || 'nothing';
}

function typeCell(field: XmlFieldSpec): string {
  let type: string = field.type;
  if (field.link) type = `id → ${field.link}`;
  if (field.type === 'choice') {
    const choices = Object.entries(field.choices ?? {});
    const asWritten = choices.every(([value, stored]) => value === stored);
    type = `choice: ${choices
      .map(([value, stored]) => (asWritten ? code(value) : `${code(value)} (stored ${code(String(stored))})`))
      .join(', ')}`;
  }
  return field.notNull ? `${type}, cannot be emptied` : type;
}

function meaningCell(field: XmlFieldSpec): string {
  const parts: string[] = [];
  if (field.deprecated) {
    parts.push(
      field.deprecated.replacedBy
        ? `**Deprecated**, not the CRM's code: use ${code(field.deprecated.replacedBy)}.`
        : "**Deprecated**, not in the CRM's field list: kept for integrations written for earlier versions of this connector.",
    );
  }
  if (field.unconfirmed) parts.push('*Unconfirmed name.*');
  parts.push(field.label);
  return parts.join(' ');
}

function dataKindSection(spec: XmlDataKindSpec): string[] {
  const about = [
    `The CRM's table ${code(spec.crmTable)}, stored in ${code(spec.table)}.`,
    `Record id: ${code(spec.recordIdField)}${spec.recordIdAliases.map((alias) => ` (also ${code(alias)}, deprecated)`).join('')}.`,
    `Required on insert: ${requiredOnInsert(spec)}.`,
  ];
  if (spec.accountFromTicket)
    about.push("A record that names a ticket but no account is filed under the ticket's account.");
  const lines = [`### ${spec.dataKind}`, '', about.join(' ')];
  if (spec.unconfirmed) {
    const prefix = spec.recordIdField.replace(/RECID$/, '');
    lines.push(
      '',
      `*Unconfirmed names:* the CRM's public reference gives no field list for ${code(spec.dataKind)}. These codes ` +
        `follow its pattern (${code(prefix)} and the column) and were not seen in a primary source.`,
    );
  }
  lines.push(
    '',
    row(['Field', 'Column', 'Type', 'Max length', 'Meaning']),
    row(['---', '---', '---', '---', '---']),
    ...spec.fields.map((field) =>
      row([
        code(field.code),
        code(field.column),
        typeCell(field),
        String(field.maxLength),
        meaningCell(field),
      ]),
    ),
  );
  return lines;
}

/** The generated part of docs/xml-api.md: every data kind and field, from the table the code uses. */
export function fieldsSectionMarkdown(): string {
  const specs = Object.values(xmlDataKinds);
  const lines = [
    '<!-- Generated from src/domain/xml-api/data-kinds.ts by `npm run docs:xml-api`: edit the table there. -->',
    '',
    'Types:',
    '',
    ...Object.entries(typeMeanings).map(([type, meaning]) => `- \`${type}\`: ${meaning}.`),
    '',
    '"Cannot be emptied": an empty element for that field is `INVALID_VALUE` on update.',
    '',
    row(['`DataKind`', "CRM's table", 'Stored in', 'Record id', 'Required on insert']),
    row(['---', '---', '---', '---', '---']),
    ...specs.map((spec) =>
      row([
        code(spec.dataKind),
        spec.crmTable,
        code(spec.table),
        code(spec.recordIdField),
        requiredOnInsert(spec),
      ]),
    ),
  ];
  for (const spec of specs) lines.push('', ...dataKindSection(spec));
  // The blank line ends the last table before the end marker.
  return `${lines.join('\n')}\n\n`;
}

/** `markdown` with the text between the field markers replaced by `section`. */
export function withFieldsSection(markdown: string, section: string): string {
  const begin = markdown.indexOf(fieldsBeginMarker);
  const end = markdown.indexOf(fieldsEndMarker);
  if (begin < 0 || end < begin) {
    throw new Error(`the markdown has no ${fieldsBeginMarker} … ${fieldsEndMarker} section`);
  }
  return `${markdown.slice(0, begin + fieldsBeginMarker.length)}\n${section}${markdown.slice(end)}`;
}

/** The text between the field markers, or null when they are missing. */
export function readFieldsSection(markdown: string): string | null {
  const begin = markdown.indexOf(fieldsBeginMarker);
  const end = markdown.indexOf(fieldsEndMarker);
  if (begin < 0 || end < begin) return null;
  return markdown.slice(begin + fieldsBeginMarker.length + 1, end);
}
