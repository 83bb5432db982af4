import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base64Chunks,
  base64Length,
  mailBytes,
  mailLength,
  type DeferredPiece,
  type MailPiece,
} from '../../src/mailbox/mail-pieces.ts';

/** A piece read only when asked, in parts of the sizes given; counts how often it was read. */
function deferred(value: Buffer, partBytes: number): DeferredPiece & { reads: number } {
  const piece = {
    length: value.length,
    reads: 0,
    async *read(): AsyncGenerator<Buffer> {
      piece.reads += 1;
      for (let at = 0; at < value.length; at += partBytes) yield value.subarray(at, at + partBytes);
    },
  };
  return piece;
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

describe('a mail in pieces, and its base64 text chunk by chunk', () => {
  it('encodes any split of any bytes exactly as the whole, in chunks aligned to 3 bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            bytes: fc.uint8Array({ maxLength: 700 }),
            deferredParts: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }),
          }),
          { maxLength: 8 },
        ),
        fc.integer({ min: 1, max: 200 }),
        async (pieces, bytesPerChunk) => {
          const buffers = pieces.map(({ bytes }) => Buffer.from(bytes));
          const mail: MailPiece[] = pieces.map(({ deferredParts }, index) =>
            deferredParts === null ? buffers[index]! : deferred(buffers[index]!, deferredParts),
          );
          const whole = Buffer.concat(buffers);
          const chunks = await collect(base64Chunks(mail, bytesPerChunk));
          expect(Buffer.concat(chunks).toString('latin1')).toBe(whole.toString('base64'));
          expect(mailLength(mail)).toBe(whole.length);
          expect(base64Length(mailLength(mail))).toBe(whole.toString('base64').length);
          const size = Math.max(3, bytesPerChunk - (bytesPerChunk % 3));
          chunks.forEach((chunk, index) => {
            expect(chunk.length).toBeLessThanOrEqual((size / 3) * 4);
            // Only the last chunk may be padded: every other one encodes whole groups of 3 bytes.
            if (index < chunks.length - 1) {
              expect(chunk.length % 4).toBe(0);
              expect(chunk.includes('=')).toBe(false);
            }
          });
          expect(Buffer.concat(await collect(mailBytes(mail))).equals(whole)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never holds more than a chunk of text, and reads a deferred piece as it goes', async () => {
    const original = Buffer.alloc(5 * 1024 * 1024 + 2, 0xa5);
    const piece = deferred(original, 1_048_576);
    const mail = [Buffer.from('head\r\n'), piece, Buffer.from('\r\ntail')];
    const iterator = base64Chunks(mail);
    // The head is encoded before the original is read at all.
    const first = await iterator.next();
    expect(first.value?.toString('latin1')).toBe(Buffer.from('head\r\n').toString('base64'));
    expect(piece.reads).toBe(0);
    let total = first.value!.length;
    let largest = first.value!.length;
    for await (const chunk of { [Symbol.asyncIterator]: () => iterator }) {
      total += chunk.length;
      largest = Math.max(largest, chunk.length);
    }
    expect(total).toBe(base64Length(mailLength(mail)));
    expect(largest).toBe(64 * 1024);
    // Encoding the mail again reads the piece again, from its start.
    expect((await collect(base64Chunks(mail))).reduce((sum, chunk) => sum + chunk.length, 0)).toBe(total);
    expect(piece.reads).toBe(2);
  });

  it('fails when a deferred piece reads more or fewer bytes than the length it announced', async () => {
    const short = {
      length: 10,
      async *read() {
        yield Buffer.from('only 7!');
      },
    };
    const long = {
      length: 3,
      async *read() {
        yield Buffer.from('four');
      },
    };
    await expect(collect(mailBytes([short]))).rejects.toThrow(/fewer bytes than its length/);
    await expect(collect(base64Chunks([Buffer.from('x'), long]))).rejects.toThrow(
      /more bytes than its length/,
    );
  });

  it('gives nothing for an empty mail', async () => {
    expect(await collect(base64Chunks(Buffer.alloc(0)))).toEqual([]);
    expect(await collect(base64Chunks([]))).toEqual([]);
    expect(base64Length(0)).toBe(0);
  });
});
