import type { PendingMail, PendingOriginal } from '../crm/crm-store.ts';
import type { MailPiece } from '../mailbox/mailbox.ts';

/**
 * A forward carries a placeholder where the original goes, and the outbox keeps the original once: a forward of
 * a message that is also filed refers to the filed document, any other forward has the outbox keep the original
 * apart from the forward's MIME (the largest part of most forwards either way). The original is attached as
 * `message/rfc822` without transfer encoding, so putting its bytes in place of the placeholder gives exactly the
 * message that composing it in would have given. It is put in place only as the pieces the mailbox sends one after
 * the other: [before the placeholder, the original, after it], never joined into one buffer, the original read
 * from the store as it is sent.
 */
export function originalPlaceholder(documentId: string): Buffer {
  return Buffer.from(`{{email-connector:original:${documentId}}}`);
}

/** The placeholder of an original the outbox keeps with the mail itself (`NewOutgoingMail.heldOriginal`). */
export function heldOriginalPlaceholder(mailId: string): Buffer {
  return Buffer.from(`{{email-connector:held-original:${mailId}}}`);
}

/** The placeholder a pending mail's MIME carries for its original. */
export function placeholderOf(mail: Pick<PendingMail, 'id'>, original: PendingOriginal): Buffer {
  return original.kind === 'document'
    ? originalPlaceholder(original.documentId)
    : heldOriginalPlaceholder(mail.id);
}

/**
 * The mail as the pieces to send: the MIME up to its placeholder, the original (a buffer, or an original in the
 * store that is read as it is sent), and the MIME after it; null when the MIME has no such placeholder. The pieces
 * are views of the buffers given, not copies.
 */
export function withOriginal(
  mime: Buffer,
  placeholder: Buffer,
  original: MailPiece,
): readonly MailPiece[] | null {
  const at = mime.indexOf(placeholder);
  if (at < 0) return null;
  return [mime.subarray(0, at), original, mime.subarray(at + placeholder.length)];
}
