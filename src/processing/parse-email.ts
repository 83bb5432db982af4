import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import type { EmailAddress, EmailAttachment, ParsedEmail } from '../domain/email.ts';
import { normaliseAddress } from '../domain/addresses.ts';

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

function headerMap(parsed: ParsedMail): Record<string, string> {
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

function attachmentsOf(parsed: ParsedMail): EmailAttachment[] {
  return parsed.attachments.map((attachment, index) => ({
    filename:
      attachment.filename?.trim() ||
      `attachment-${index + 1}${attachment.contentType === 'message/rfc822' ? '.eml' : ''}`,
    contentType: attachment.contentType || 'application/octet-stream',
    size: attachment.size ?? attachment.content.length,
    content: attachment.content,
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
  const problems: string[] = [];
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(Readable.from(slices(repairHeaderBytes(raw))), {
      skipImageLinks: true,
      skipTextLinks: true,
      keepCidLinks: true,
      // mailparser hashes every attachment (md5) by default; nothing here reads that checksum.
      checksumAlgo: false,
    });
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
  let contentHash: string | null = null;
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
    raw,
    // Only a message without a Message-ID needs its hash (as its key): computed on first use.
    get contentHash(): string {
      contentHash ??= createHash('sha256').update(raw).digest('hex');
      return contentHash;
    },
    problems,
  };
}
