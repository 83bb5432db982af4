import type { EmailAttachment, ParsedEmail } from '../email.ts';
import { xmlApiError } from './xml-api-errors.ts';
import type { XmlApiError } from './xml-api-errors.ts';
import { defaultXmlDocumentLimits } from './xml-element.ts';

export const transactionRootName = 'CommitCRMTransaction';

/** One XML document found in a mail; `error` is set when it cannot even be read (then `text` is empty). */
export interface XmlApiDocument {
  /** `body`, or `attachment "name.xml"`. */
  source: string;
  text: string;
  error: XmlApiError | null;
}

export interface XmlApiDetection {
  documents: XmlApiDocument[];
  /** Set when the mail as a whole is refused (too many transactions); `documents` is then empty. */
  refused: XmlApiError | null;
}

export interface DetectionOptions {
  /** Most transactions accepted in one mail. Default 10. */
  maxTransactions: number;
  /** Largest document read, in bytes (a larger attachment is not decoded at all). Default 1 MiB. */
  maxBytes: number;
}

const defaultDetectionOptions: DetectionOptions = {
  maxTransactions: 10,
  maxBytes: defaultXmlDocumentLimits.maxBytes,
};

// The root is sniffed from the head only, so that detection costs the same for a 10 MB body.
const sniffWindow = 64 * 1024;

/**
 * The name of a document's root element, read from its head: skips the XML declaration, processing
 * instructions and comments; a DOCTYPE names the root too (hostile documents carry one). Null when
 * the text does not start like XML.
 */
export function sniffRootName(text: string): string | null {
  const head = text.slice(0, sniffWindow).replace(/^\uFEFF/, '');
  const skip = /\s*(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->)/y;
  let at = 0;
  for (;;) {
    skip.lastIndex = at;
    if (!skip.exec(head)) break;
    at = skip.lastIndex;
  }
  const root = /\s*<(?:!DOCTYPE\s+)?([A-Za-z_][\w.:-]*)/iy;
  root.lastIndex = at;
  return root.exec(head)?.[1] ?? null;
}

/**
 * True when a body says nothing but (at most) a signature: empty or white space, or a signature block
 * alone: a first line `-- ` (RFC 3676 signature separator; `--` too, as clients trim the space),
 * at most 10 more lines, 1000 characters in all. "See attached" or any other text is not.
 */
export function isSignatureOnly(text: string): boolean {
  const trimmed = text.replace(/\r\n?/g, '\n').trim();
  if (trimmed === '') return true;
  const lines = trimmed.split('\n');
  return /^--\s*$/.test(lines[0]!) && lines.length <= 11 && trimmed.length <= 1000;
}

/** A body transaction may be followed by a signature the mail client added; it is cut off. */
function withoutTrailingSignature(text: string): string {
  const closing = `</${transactionRootName}>`;
  const end = text.lastIndexOf(closing);
  if (end < 0) return text;
  const rest = text.slice(end + closing.length);
  return rest.trim() !== '' && isSignatureOnly(rest) ? text.slice(0, end + closing.length) : text;
}

/** Whether an attachment may be an XML API transaction: its content is then read (the parser keeps it). */
export function isXmlAttachment(attachment: Pick<EmailAttachment, 'filename' | 'contentType'>): boolean {
  const type = attachment.contentType.toLowerCase();
  return /\.xml$/i.test(attachment.filename) || type === 'application/xml' || type === 'text/xml';
}

/** Decodes an attachment as its XML declaration (or byte-order mark) says; UTF-8 otherwise. */
function decodeXml(content: Buffer): { text: string } | { error: string } {
  if (content[0] === 0xff && content[1] === 0xfe)
    return { text: new TextDecoder('utf-16le').decode(content) };
  if (content[0] === 0xfe && content[1] === 0xff)
    return { text: new TextDecoder('utf-16be').decode(content) };
  const head = content.subarray(0, 200).toString('latin1');
  const declared = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/i.exec(head)?.[1] ?? 'utf-8';
  try {
    return { text: new TextDecoder(declared).decode(content) };
  } catch {
    return { error: `unsupported encoding "${declared}"` };
  }
}

function readAttachment(attachment: EmailAttachment, maxBytes: number): XmlApiDocument {
  const source = `attachment "${attachment.filename}"`;
  // Not held: larger than any transaction the parser keeps (see parse-email.ts).
  if (attachment.content === null || attachment.content.length > maxBytes) {
    return {
      source,
      text: '',
      error: xmlApiError('XML_TOO_LARGE', `the XML document is larger than ${maxBytes} bytes`),
    };
  }
  const decoded = decodeXml(attachment.content);
  if ('error' in decoded) return { source, text: '', error: xmlApiError('XML_MALFORMED', decoded.error) };
  return { source, text: decoded.text, error: null };
}

/**
 * Finds the XML API transactions in a mail, or returns null when it is not an API call:
 * - the text body is a transaction (root `CommitCRMTransaction`); its attachments are then not read;
 * - or the body is empty or signature-only, every attachment that is not inline is an `.xml` file,
 *   and at least one of them is a transaction: each `.xml` attachment is then one transaction.
 */
export function detectXmlTransactions(
  email: Pick<ParsedEmail, 'text' | 'attachments'>,
  options: Partial<DetectionOptions> = {},
): XmlApiDetection | null {
  const { maxTransactions, maxBytes } = { ...defaultDetectionOptions, ...options };
  if (sniffRootName(email.text) === transactionRootName) {
    return {
      documents: [{ source: 'body', text: withoutTrailingSignature(email.text), error: null }],
      refused: null,
    };
  }
  if (!isSignatureOnly(email.text)) return null;
  const xml = email.attachments.filter(isXmlAttachment);
  const others = email.attachments.filter((attachment) => !isXmlAttachment(attachment) && !attachment.inline);
  if (xml.length === 0 || others.length > 0) return null;
  const isTransaction = (attachment: EmailAttachment): boolean => {
    if (attachment.content === null) return false;
    const head = decodeXml(attachment.content.subarray(0, sniffWindow));
    return 'text' in head && sniffRootName(head.text) === transactionRootName;
  };
  if (!xml.some(isTransaction)) return null;
  if (xml.length > maxTransactions) {
    return {
      documents: [],
      refused: xmlApiError(
        'TOO_MANY_TRANSACTIONS',
        `the mail carries ${xml.length} XML attachments; at most ${maxTransactions} are accepted`,
      ),
    };
  }
  return { documents: xml.map((attachment) => readAttachment(attachment, maxBytes)), refused: null };
}
