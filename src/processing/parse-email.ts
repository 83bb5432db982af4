import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  MailParser,
  type AddressObject,
  type AttachmentStream,
  type MessageText,
  type ParsedMail,
} from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import type { EmailAddress, EmailAttachment, ParsedEmail } from '../domain/email.ts';
import { normaliseAddress } from '../domain/addresses.ts';
import { isXmlAttachment } from '../domain/xml-api/detect-transactions.ts';

/** The message could not be read at all; retrying will not help. */
export class MessageParseError extends Error {
  override name = 'MessageParseError';
}

function addresses(value: AddressObject | AddressObject[] | undefined): EmailAddress[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const result: EmailAddress[] = [];
  // A set, not a search of the list: a header of ten thousand addresses must not cost seconds.
  const seen = new Set<string>();
  const visit = (entries: AddressObject['value']): void => {
    for (const entry of entries) {
      if (entry.group) visit(entry.group);
      const address = normaliseAddress(entry.address);
      if (address && !seen.has(address)) {
        seen.add(address);
        result.push({ address, name: (entry.name ?? '').trim() });
      }
    }
  };
  for (const object of objects) visit(object.value);
  return result;
}

/** Message-IDs without brackets, in the order written. */
export function messageIds(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(' ') : (value ?? '');
  const ids = [...text.matchAll(/<([^<>\s]+)>/g)].map((match) => match[1]!);
  if (ids.length === 0 && text.trim() && !/\s/.test(text.trim())) ids.push(text.trim());
  return [...new Set(ids)];
}

const sanitizeOptions: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img', 'font', 'center', 'span'],
  allowedAttributes: {
    ...sanitizeHtml.defaults.allowedAttributes,
    '*': ['style', 'align', 'valign', 'width', 'height', 'colspan', 'rowspan', 'dir'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    font: ['color', 'face', 'size'],
  },
  // Remote images are tracking beacons in mail; inline (cid:) and embedded (data:) ones are kept.
  allowedSchemesByTag: { img: ['cid', 'data'] },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
};

export function sanitiseHtml(html: string): string {
  return sanitizeHtml(html, sanitizeOptions);
}

function headerMap(parsed: Pick<ParsedMail, 'headerLines'>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of parsed.headerLines) {
    // A line that is not a header at all (garbage bytes) has an empty key: it is no header.
    if (!line.key || headers[line.key] !== undefined) continue;
    const colon = line.line.indexOf(':');
    // mailparser hands header lines over byte for byte; after repairHeaderBytes they are UTF-8.
    const value = Buffer.from(colon >= 0 ? line.line.slice(colon + 1) : '', 'latin1').toString('utf8');
    headers[line.key] = value.replace(/\r?\n[ \t]+/g, ' ').trim();
  }
  return headers;
}

/**
 * The media type of a Content-Type value, lower-case. RFC 2045 allows comments anywhere in it
 * (`multipart/report (arf); …`) and some senders quote the type; either would otherwise hide a report.
 */
export function mediaTypeOf(value: string | undefined): string {
  let text = value ?? '';
  for (let depth = 0; depth < 8 && text.includes('('); depth++) text = text.replace(/\([^()]*\)/g, ' ');
  const type = text.split(';')[0]!.replace(/["\s]/g, '').toLowerCase();
  return type || 'text/plain';
}

/** Where the top-level header ends: at its first empty line, or at the end of a message that has none. */
function headerEnd(raw: Buffer): number {
  if (raw[0] === 0x0a || (raw[0] === 0x0d && raw[1] === 0x0a)) return 0;
  const ends = [raw.indexOf('\r\n\r\n'), raw.indexOf('\n\n'), raw.indexOf('\n\r\n')].filter((at) => at >= 0);
  return ends.length > 0 ? Math.min(...ends) : raw.length;
}

/** mailparser refuses a header larger than this; there is nothing to repair in one. */
const maxHeaderBytes = 1_048_576;

/** A Q-encoded word (RFC 2047); its text may hold raw bytes that should have been `=XX` escapes. */
const qEncodedWord = /=\?[^?\s]{1,75}\?[Qq]\?[^?\t\n\r ]*\?=/g;
/** Whether header text holds ISO-2022-JP's escape sequences (to JIS X 0208/0212 or JIS X 0201). */
function hasIso2022Escapes(text: string): boolean {
  return ['\x1b$@', '\x1b$B', '\x1b$(D', '\x1b(J', '\x1b(I'].some((escape) => text.includes(escape));
}

/**
 * The 8-bit charset to read undeclared header bytes in, guessed from the body's charset; null = no guess.
 * Header text is never UTF-16, and 8-bit bytes in a mail whose body is ISO-2022-JP (7-bit) are Shift_JIS.
 */
function headerCharsetFor(label: string | undefined): string | null {
  if (!label) return null;
  let encoding: string;
  try {
    encoding = new TextDecoder(label).encoding;
  } catch {
    return null;
  }
  if (encoding === 'iso-2022-jp') return 'shift_jis';
  return ['utf-8', 'utf-16le', 'utf-16be', 'replacement', 'x-user-defined'].includes(encoding)
    ? null
    : encoding;
}

/**
 * Rewrites the top-level header so that mailparser reads it as the sender meant it. mailparser reads header
 * bytes as UTF-8 before it decodes encoded words, so bytes that are not UTF-8 turn into U+FFFD first:
 * - old Outlook versions put raw 8-bit bytes inside Q-encoded words (`=?iso-8859-1?Q?Fr<F6>sche?=`);
 *   escaped as `=F6`, they decode with the charset the word declares;
 * - header text in a legacy charset without any encoded word is transcoded to UTF-8: ISO-2022-JP when it
 *   carries that charset's escapes (Japanese carriers), else the charset of the message's body, else
 *   windows-1252, the usual charset of such mail.
 * Returns the message unchanged (not copied) when its header is plain ASCII or UTF-8.
 */
export function repairHeaderBytes(raw: Buffer): Buffer {
  const end = headerEnd(raw);
  if (end > maxHeaderBytes) return raw;
  const latin1 = raw.toString('latin1', 0, end);
  if (!/[\x80-\xff]/.test(latin1) && !hasIso2022Escapes(latin1)) return raw;

  const text = latin1.replace(qEncodedWord, (word) =>
    // Anything but printable ASCII is escaped; the word's pattern already excludes line breaks and spaces.
    word.replace(/[^!-~]/g, (char) => `=${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`),
  );
  const contentType = /^content-type:([^\n]*(?:\r?\n[ \t][^\n]*)*)/im.exec(text)?.[1] ?? '';
  const bodyCharset = headerCharsetFor(/charset\s*=\s*"?([\w.:-]+)/i.exec(contentType)?.[1]);
  const pieces: Buffer[] = [];
  // One header field with its folded continuation lines at a time, line breaks kept.
  for (const field of text.split(/(?<=\n)(?![ \t])/)) {
    const bytes = Buffer.from(field, 'latin1');
    let charset: string | null = null;
    if (hasIso2022Escapes(field)) charset = 'iso-2022-jp';
    else if (!isUtf8(bytes)) charset = bodyCharset ?? 'windows-1252';
    pieces.push(charset ? Buffer.from(new TextDecoder(charset).decode(bytes), 'utf8') : bytes);
  }
  return Buffer.concat([...pieces, raw.subarray(end)]);
}

/** An attachment as the reader leaves it: its bytes only when they were kept. */
interface ReadAttachment extends Omit<ParsedMail['attachments'][number], 'content'> {
  content: Buffer | null;
}

/** What `readMime` gives: mailparser's ParsedMail, with attachments held only where asked. */
type ReadMail = Omit<ParsedMail, 'attachments'> & { attachments: ReadAttachment[] };

const parserOptions = {
  skipImageLinks: true,
  skipTextLinks: true,
  keepCidLinks: true,
  // mailparser hashes every attachment (md5) by default; nothing here reads that checksum.
  checksumAlgo: false,
} as const;

/**
 * Reads MIME with mailparser as its `simpleParser` does, except for attachments: each one's bytes are decoded and
 * counted but kept only when `keep` says so (by position, name and type, known before its content). The rest of a
 * message's attachments stay in its raw MIME, where `attachmentContent` finds them again; holding and copying
 * them here would cost as much as reading the message.
 */
function readMime(
  input: Readable,
  keep: (attachment: { position: number; filename: string; contentType: string }) => boolean,
): Promise<ReadMail> {
  return new Promise<ReadMail>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, mail?: ReadMail): void => {
      if (settled) return;
      settled = true;
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(mail!);
    };
    const mail = { attachments: [] as ReadAttachment[] } as unknown as ReadMail;
    const parser = new MailParser(parserOptions);
    parser.on('error', (error: unknown) => settle(error));
    parser.on('headers', (headers) => {
      mail.headers = headers;
      mail.headerLines = (parser as unknown as { headerLines: ParsedMail['headerLines'] }).headerLines;
    });
    let reading = false;
    const fail = (error: unknown): void => {
      reading = false;
      settle(error);
      parser.destroy();
    };
    const next = (): void => {
      try {
        readNext();
      } catch (error) {
        // Whatever a hostile message makes the reader throw ends this message, never the process.
        fail(error);
      }
    };
    const readNext = (): void => {
      reading = true;
      const data = parser.read() as
        (MessageText & { type: 'text' }) | (AttachmentStream & { type: 'attachment' }) | null;
      if (data === null) {
        reading = false;
        return;
      }
      if (data.type === 'text') {
        if (data.text !== undefined) mail.text = data.text;
        if (data.html !== undefined) mail.html = data.html;
        if (data.textAsHtml !== undefined) mail.textAsHtml = data.textAsHtml;
        next();
        return;
      }
      const stream = data.content;
      const position = mail.attachments.length;
      const held = keep({ position, filename: textOf(data.filename), contentType: textOf(data.contentType) });
      const attachment = { ...data, content: null, size: 0 } as unknown as ReadAttachment;
      mail.attachments.push(attachment);
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (held) chunks.push(chunk);
      });
      stream.once('error', fail);
      stream.on('end', () => {
        attachment.size = size;
        if (held) attachment.content = Buffer.concat(chunks, size);
        data.release?.();
        next();
      });
    };
    parser.on('readable', () => {
      if (!reading) next();
    });
    parser.on('end', () => {
      const headers = mail.headers;
      if (headers) {
        if (headers.has('subject')) mail.subject = headers.get('subject') as string;
        if (headers.has('references')) mail.references = headers.get('references') as string | string[];
        if (headers.has('date')) mail.date = headers.get('date') as Date;
        if (headers.has('to')) mail.to = headers.get('to') as AddressObject;
        if (headers.has('from')) mail.from = headers.get('from') as AddressObject;
        if (headers.has('cc')) mail.cc = headers.get('cc') as AddressObject;
        if (headers.has('bcc')) mail.bcc = headers.get('bcc') as AddressObject;
        if (headers.has('message-id')) mail.messageId = headers.get('message-id') as string;
        if (headers.has('in-reply-to')) mail.inReplyTo = headers.get('in-reply-to') as string;
        if (headers.has('reply-to')) mail.replyTo = headers.get('reply-to') as AddressObject;
      }
      settle(null, mail);
    });
    input.once('error', (error) => {
      parser.destroy();
      settle(error);
    });
    input.pipe(parser);
  });
}

/** A header-derived value as text: mailparser gives other types for some malformed headers. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function attachmentsOf(parsed: ReadMail): EmailAttachment[] {
  return parsed.attachments.map((attachment, index) => ({
    filename:
      textOf(attachment.filename).trim() ||
      `attachment-${index + 1}${attachment.contentType === 'message/rfc822' ? '.eml' : ''}`,
    contentType: textOf(attachment.contentType) || 'application/octet-stream',
    size: attachment.size,
    content: attachment.content,
    position: index,
    contentId: attachment.cid ?? null,
    inline: attachment.contentDisposition === 'inline' || attachment.related === true,
  }));
}

/**
 * The message in 64 KiB views (no copies). Fed as a stream, mailparser holds a fraction of the memory it
 * holds when given one large Buffer: about 70 MB instead of 190 MB of peak for a 35 MB message.
 */
function* slices(raw: Buffer): Generator<Buffer> {
  for (let offset = 0; offset < raw.length; offset += 65_536) yield raw.subarray(offset, offset + 65_536);
}

/** Reads a raw MIME message into the connector's ParsedEmail. Throws MessageParseError when unreadable. */
export async function parseEmail(raw: Buffer): Promise<ParsedEmail> {
  return withRawMessage(await parseFields(raw), raw);
}

/** What parseEmail reads from a message, without the message itself (what a parse thread sends back). */
export async function parseFields(raw: Buffer): Promise<ParsedFields> {
  const problems: string[] = [];
  let parsed: ReadMail;
  try {
    // Only XML files are read by the rules (API transactions); every other attachment stays in `raw`.
    parsed = await readMime(Readable.from(slices(repairHeaderBytes(raw))), isXmlAttachment);
  } catch (error) {
    throw new MessageParseError(`unreadable MIME: ${(error as Error).message}`, { cause: error });
  }
  const headers = headerMap(parsed);
  if (Object.keys(headers).length === 0) problems.push('no headers');
  const from = addresses(parsed.from)[0] ?? null;
  if (!from)
    problems.push(headers.from ? `unreadable From: ${headers.from.slice(0, 200)}` : 'no From address');
  const senderHeader = parsed.headers.get('sender') as AddressObject | undefined;
  const html = typeof parsed.html === 'string' ? sanitiseHtml(parsed.html) : null;
  // mailparser derives the text from the HTML when a message has no text part.
  const text = parsed.text ?? '';
  const contentType = mediaTypeOf(headers['content-type']);
  const boundary = /\bboundary\s*=\s*"?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1]?.trim();
  if (contentType.startsWith('multipart/') && (!boundary || !raw.includes(`--${boundary}`)))
    problems.push(`${contentType} whose boundary never appears: its parts could not be read`);
  const messageId = messageIds(parsed.messageId)[0] ?? null;
  return {
    messageId,
    from,
    sender: senderHeader ? (addresses(senderHeader)[0] ?? null) : null,
    replyTo: addresses(parsed.replyTo),
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    bcc: addresses(parsed.bcc),
    subject: (parsed.subject ?? '').replace(/\s+/g, ' ').trim(),
    date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date : null,
    text,
    html,
    attachments: attachmentsOf(parsed),
    inReplyTo: messageIds(parsed.inReplyTo),
    references: messageIds(parsed.references).reverse(),
    headers,
    contentType,
    problems,
  };
}

/** The fields `parseFields` reads: a ParsedEmail without its raw message and hash. */
export type ParsedFields = Omit<ParsedEmail, 'raw' | 'contentHash'>;

/** The parsed fields with their raw message, and its hash. */
export function withRawMessage(fields: ParsedFields, raw: Buffer): ParsedEmail {
  let contentHash: string | null = null;
  return {
    ...fields,
    raw,
    // Only a message without a Message-ID needs its hash (as its key): computed on first use.
    get contentHash(): string {
      contentHash ??= createHash('sha256').update(raw).digest('hex');
      return contentHash;
    },
  };
}

/**
 * The bytes of a filed message's attachment, read again from its raw MIME: `position` is the attachment's
 * `EmailAttachment.position`. Null when the message has no attachment there.
 */
export async function attachmentContent(raw: Buffer, position: number): Promise<Buffer | null> {
  const parsed = await readMime(
    Readable.from(slices(repairHeaderBytes(raw))),
    (attachment) => attachment.position === position,
  );
  return parsed.attachments[position]?.content ?? null;
}
