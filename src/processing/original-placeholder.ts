/**
 * A forward of a message that is also filed carries a placeholder where the original goes, and the outbox
 * keeps a reference to the filed document instead of a second copy of the original (the largest part of most
 * forwards). The original is attached as `message/rfc822` without transfer encoding, so putting its bytes in
 * place of the placeholder gives exactly the message that composing it in would have given.
 */
export function originalPlaceholder(documentId: string): Buffer {
  return Buffer.from(`{{email-connector:original:${documentId}}}`);
}

/** The forward with the stored original in place of its placeholder. */
export function withOriginal(mime: Buffer, documentId: string, original: Buffer): Buffer {
  const placeholder = originalPlaceholder(documentId);
  const at = mime.indexOf(placeholder);
  if (at < 0) throw new Error(`the mail has no placeholder for the original of document ${documentId}`);
  return Buffer.concat([mime.subarray(0, at), original, mime.subarray(at + placeholder.length)]);
}
