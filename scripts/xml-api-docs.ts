// Rewrites the generated field tables of docs/xml-api.md from src/domain/xml-api/data-kinds.ts
// (`npm run docs:xml-api`); test/xml-api/docs-fields.test.ts fails while the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { fieldsSectionMarkdown, withFieldsSection } from '../src/domain/xml-api/data-kinds-markdown.ts';

const path = new URL('../docs/xml-api.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withFieldsSection(before, fieldsSectionMarkdown());
if (after === before) {
  console.log('docs/xml-api.md: the field tables are up to date');
} else {
  writeFileSync(path, after);
  console.log('docs/xml-api.md: the field tables were rewritten');
}
