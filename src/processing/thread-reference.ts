import { randomBytes } from 'node:crypto';

const tokenPattern = /\bECR-([0-9a-f]{20})\b/gi;

/** A new reference token for the body of a mail we send; quoting it in a reply threads to the ticket. */
export function newReferenceToken(): string {
  return `ECR-${randomBytes(10).toString('hex')}`;
}

/** Reference tokens found in a text (a quoted reply carries ours), lower-cased, without repeats. */
export function findReferenceTokens(...texts: (string | null)[]): string[] {
  const found = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    for (const match of text.matchAll(tokenPattern)) found.add(`ECR-${match[1]!.toLowerCase()}`);
  }
  return [...found];
}

/** A Message-ID for a mail we send, in the support address's domain. */
export function newMessageId(supportAddress: string): string {
  const domain = supportAddress.slice(supportAddress.lastIndexOf('@') + 1) || 'localhost';
  return `ec.${Date.now().toString(36)}.${randomBytes(9).toString('hex')}@${domain}`;
}
