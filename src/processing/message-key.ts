import { createHash } from 'node:crypto';
import type { ParsedEmail } from '../domain/email.ts';

/** Where the body starts: after the first empty line (CRLF or bare LF); the whole message when there is none. */
function bodyOf(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return raw;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return raw.subarray(crlf + 4);
  return raw.subarray(lf + 2);
}

/**
 * The key that makes processing idempotent (one outcome per key). A Message-ID alone would let a stranger who
 * sends first with a genuine mail's Message-ID make that mail a "duplicate" that is never filed; so the key is
 * the Message-ID with a digest of who sent it and what it says (From, Subject, Date and the body bytes). Two
 * deliveries of one message (its copy for To and Cc, a redelivery) differ only in transport headers and share
 * the key; a mail without a Message-ID is keyed by all its bytes.
 */
export function messageKey(
  email: Pick<ParsedEmail, 'messageId' | 'contentHash' | 'from' | 'subject' | 'headers' | 'raw'>,
): string {
  if (!email.messageId) return `sha256:${email.contentHash}`;
  const digest = createHash('sha256')
    .update(`${email.from?.address ?? ''}\n${email.subject}\n${email.headers.date ?? ''}\n`)
    .update(bodyOf(email.raw))
    .digest('hex')
    .slice(0, 32);
  return `mid:${email.messageId}#${digest}`;
}

/** The key of a message that could not be read: its bytes are all there is. */
export function rawKey(raw: Buffer): string {
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}
