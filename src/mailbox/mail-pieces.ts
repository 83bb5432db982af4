/**
 * A piece of a mail that is read only while the mail is sent, a part at a time: a large original kept in the
 * store. Its length is known before its bytes are read (a request announces its length up front).
 */
export interface DeferredPiece {
  readonly length: number;
  /** Its bytes, in order; each call reads them afresh (a request tried again sends them again). */
  read(): AsyncIterable<Buffer>;
}

export type MailPiece = Buffer | DeferredPiece;

/**
 * A MIME message to send, as one buffer or as consecutive pieces whose concatenation is the message. A forward
 * is sent as [its head, the original, its tail], so that a large original is never copied into a second buffer,
 * and an original kept in the store is read only as it is sent.
 */
export type MailPieces = Buffer | readonly MailPiece[];

/** The pieces of a mail, in order (empty pieces included). */
export function piecesOf(mail: MailPieces): readonly MailPiece[] {
  return Buffer.isBuffer(mail) ? [mail] : mail;
}

/** The length of the whole message in bytes. */
export function mailLength(mail: MailPieces): number {
  let total = 0;
  for (const piece of piecesOf(mail)) total += piece.length;
  return total;
}

/**
 * The bytes of the whole message, piece by piece, a deferred piece as the parts it reads; none is copied. A
 * deferred piece that reads more or fewer bytes than its length fails, since its length was announced already.
 */
export async function* mailBytes(mail: MailPieces): AsyncGenerator<Buffer> {
  for (const piece of piecesOf(mail)) {
    if (Buffer.isBuffer(piece)) {
      yield piece;
      continue;
    }
    let read = 0;
    for await (const part of piece.read()) {
      read += part.length;
      if (read > piece.length) break;
      yield part;
    }
    if (read !== piece.length)
      throw new Error(
        `a piece of the mail has ${read > piece.length ? 'more' : 'fewer'} bytes than its length`,
      );
  }
}

/** The length of the base64 text of `bytes` bytes (with padding, without line breaks). */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/** Bytes encoded per base64 chunk: a multiple of 3, so that every chunk but the last needs no padding. */
const chunkBytes = 48 * 1024;

/**
 * The base64 text of the whole message (as `Buffer.concat(pieces).toString('base64')` would give it), in chunks
 * of at most 64 KiB of ASCII, without ever joining the pieces: each chunk encodes a multiple of 3 bytes, and the
 * 0–2 bytes at the end of a piece that do not fill a group of 3 are carried into the next chunk.
 */
export async function* base64Chunks(
  mail: MailPieces,
  bytesPerChunk: number = chunkBytes,
): AsyncGenerator<Buffer> {
  const size = Math.max(3, bytesPerChunk - (bytesPerChunk % 3));
  let carry: Buffer = Buffer.alloc(0);
  for await (const piece of mailBytes(mail)) {
    let at = 0;
    while (at < piece.length) {
      const take = Math.min(size - carry.length, piece.length - at);
      const total = carry.length + take;
      const aligned = total - (total % 3);
      if (aligned === 0) {
        // Fewer than 3 bytes so far: all of them wait for the next piece.
        carry = Buffer.concat([carry, piece.subarray(at, at + take)]);
        at += take;
        continue;
      }
      const used = aligned - carry.length;
      const block =
        carry.length > 0
          ? Buffer.concat([carry, piece.subarray(at, at + used)])
          : piece.subarray(at, at + used);
      yield Buffer.from(block.toString('base64'), 'latin1');
      at += used;
      // What is left of this take (0–2 bytes, at the end of the piece) goes with the next chunk.
      carry = Buffer.from(piece.subarray(at, at + (take - used)));
      at += take - used;
    }
  }
  if (carry.length > 0) yield Buffer.from(carry.toString('base64'), 'latin1');
}
