import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleXmlApiMail } from '../../src/processing/xml-api/handle-xml-api-mail.ts';
import { xmlDataKinds } from '../../src/domain/xml-api/data-kinds.ts';
import { xmlApiErrorCodes } from '../../src/domain/xml-api/xml-api-errors.ts';
import { parseEmail } from '../../src/processing/parse-email.ts';
import { openTestCrm } from './xml-api-harness.ts';
import type { TestCrm } from './xml-api-harness.ts';

const markdown = readFileSync(new URL('../../docs/xml-api.md', import.meta.url), 'utf8');

/** Every `### Example: …` heading with the first ```xml block under it, verbatim. */
function workedExamples(): { title: string; xml: string }[] {
  const examples: { title: string; xml: string }[] = [];
  for (const section of markdown.split(/^### Example: /m).slice(1)) {
    const title = section.slice(0, section.indexOf('\n')).trim();
    const block = /^```xml\n([\s\S]*?)^```$/m.exec(section);
    if (block) examples.push({ title, xml: block[1]! });
  }
  return examples;
}

const examples = workedExamples();

let crm: TestCrm;
beforeEach(async () => {
  crm = await openTestCrm();
});
afterEach(async () => {
  await crm.close();
});

describe('docs/xml-api.md', () => {
  it('has a worked example for every data kind', () => {
    const kinds = examples.map((example) => example.title.split(' ')[0]);
    expect(new Set(kinds)).toEqual(new Set(Object.keys(xmlDataKinds)));
  });

  it('documents every field code and every error code', () => {
    for (const spec of Object.values(xmlDataKinds)) {
      for (const code of [
        spec.recordIdField,
        ...spec.recordIdAliases,
        ...spec.fields.map((field) => field.code),
      ]) {
        expect(markdown, code).toContain(`\`${code}\``);
      }
    }
    for (const code of xmlApiErrorCodes) expect(markdown, code).toContain(`| \`${code}\` |`);
  });

  it.each(examples.map((example) => [example.title, example.xml]))(
    'example "%s" succeeds as written',
    async (title, xml) => {
      const raw = Buffer.from(
        `From: Partner <webform@partner.example>\nTo: support@msp.example\nSubject: ${title}\n` +
          `Message-ID: <docs-${title.replace(/\W+/g, '-')}@partner.example>\nContent-Type: text/plain; charset=utf-8\n\n${xml}`,
      );
      const email = await parseEmail(raw);
      const handling = await handleXmlApiMail(email, crm.deps({ password: 'change-me' })(email));

      expect(handling?.details.transactions[0]?.errors).toEqual([]);
      expect(handling?.code).toBe('api-applied');
      const transaction = handling!.details.transactions[0]!;
      expect(transaction.operation).toBe(title.endsWith('update') ? 'update' : 'insert');
      expect(handling!.outgoing.length).toBe(xml.includes('<SendResponseToEmail>') ? 1 : 0);
    },
  );
});
