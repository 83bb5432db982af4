import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of readable test mails, the test CRM and the test rules. */
export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function fixturePath(name: string): string {
  return join(fixturesDir, name);
}

/** A fixture's bytes, exactly as stored. */
export function readFixture(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

/**
 * A fixture with placeholders replaced (e.g. the Message-ID of an acknowledgment known only at run time).
 * Line endings are kept as they are in the file.
 */
export function fixtureWith(name: string, replacements: Record<string, string>): Buffer {
  let text = readFixture(name).toString('utf8');
  for (const [placeholder, value] of Object.entries(replacements)) {
    if (!text.includes(placeholder)) throw new Error(`${name} has no placeholder ${placeholder}`);
    text = text.split(placeholder).join(value);
  }
  return Buffer.from(text, 'utf8');
}

/** The same mail under another Message-ID: a new message from the same person. */
export function withMessageId(raw: Buffer, messageId: string): Buffer {
  const text = raw.toString('utf8');
  const replaced = text.replace(/^Message-ID:[^\r\n]*/im, `Message-ID: <${messageId}>`);
  if (replaced === text) throw new Error('the mail has no Message-ID header to replace');
  return Buffer.from(replaced, 'utf8');
}
