import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { EntityDecoderOptions } from 'fast-xml-parser';
import { xmlApiError } from '../../domain/xml-api/xml-api-errors.ts';
import type { XmlApiError } from '../../domain/xml-api/xml-api-errors.ts';
import { defaultXmlDocumentLimits } from '../../domain/xml-api/xml-element.ts';
import type { XmlDocumentLimits, XmlElement } from '../../domain/xml-api/xml-element.ts';

export type XmlParseResult = { ok: true; root: XmlElement } | { ok: false; error: XmlApiError };

// Any markup declaration: a DTD is how entity-expansion attacks and external entities get in, and the
// transaction format needs none. Matched anywhere (even in CDATA) because that is cheap and safe.
const markupDeclaration = /<!(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;

// C0 controls other than tab, line feed and carriage return are not allowed in XML 1.0 text.
// eslint-disable-next-line no-control-regex
const invalidXmlChars = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** UTF-8 size of a string without allocating a buffer the size of a hostile document. */
export function exceedsBytes(text: string, maxBytes: number): boolean {
  // Every UTF-16 code unit is at least one UTF-8 byte, and at most three.
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(text, 'utf8') > maxBytes;
}

const namedEntities: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function fromCodePoint(code: number): string {
  const allowed = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
  return allowed ? String.fromCodePoint(code) : '\ufffd';
}

/**
 * Decodes the five XML entities and numeric character references, and nothing else: a DTD is refused
 * before parsing, so no other entity can be defined and nothing can expand.
 */
const xmlEntityDecoder: EntityDecoderOptions = {
  setExternalEntities: () => undefined,
  addInputEntities: () => undefined,
  reset: () => undefined,
  setXmlVersion: () => undefined,
  decode: (text) =>
    text.replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|(amp|lt|gt|quot|apos));/gi, (whole, dec, hex, name) => {
      if (dec !== undefined) return fromCodePoint(Number(dec));
      if (hex !== undefined) return fromCodePoint(Number.parseInt(hex, 16));
      return namedEntities[String(name)] ?? whole;
    }),
};

function buildParser(maxDepth: number): XMLParser {
  return new XMLParser({
    preserveOrder: true,
    ignoreAttributes: true,
    // Values stay text: ids such as 0000042 or 20-digit numbers must not become numbers.
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    processEntities: true,
    entityDecoder: xmlEntityDecoder,
    maxNestedTags: maxDepth,
  });
}

type OrderedNode = Record<string, unknown>;

function toElement(name: string, nodes: unknown): XmlElement {
  const element: XmlElement = { name, text: '', children: [] };
  const texts: string[] = [];
  for (const node of Array.isArray(nodes) ? (nodes as unknown[]) : []) {
    if (!node || typeof node !== 'object') continue;
    for (const [key, value] of Object.entries(node as OrderedNode)) {
      if (key === ':@') continue;
      if (key === '#text') texts.push(String(value));
      else element.children.push(toElement(key, value));
    }
  }
  element.text = texts.join('').replace(invalidXmlChars, '').trim();
  return element;
}

/**
 * Parses one transaction document with every guard applied before the parser sees it:
 * size first, then markup declarations, then well-formedness, then depth.
 */
export function parseXmlDocument(
  text: string,
  limits: Readonly<XmlDocumentLimits> = defaultXmlDocumentLimits,
): XmlParseResult {
  if (exceedsBytes(text, limits.maxBytes)) {
    return {
      ok: false,
      error: xmlApiError('XML_TOO_LARGE', `the XML document is larger than ${limits.maxBytes} bytes`),
    };
  }
  if (markupDeclaration.test(text)) {
    return {
      ok: false,
      error: xmlApiError('XML_DTD_FORBIDDEN', 'DOCTYPE and entity declarations are not accepted'),
    };
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    return {
      ok: false,
      error: xmlApiError('XML_MALFORMED', `the XML is not well-formed: ${msg} (line ${line}, column ${col})`),
    };
  }
  let parsed: unknown;
  try {
    parsed = buildParser(limits.maxDepth).parse(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    if (/nested tags/i.test(message)) {
      return {
        ok: false,
        error: xmlApiError('XML_TOO_DEEP', `elements are nested deeper than ${limits.maxDepth} levels`),
      };
    }
    // The parser's own refusals (e.g. a reserved name such as __proto__) are reported, never thrown on.
    return { ok: false, error: xmlApiError('XML_MALFORMED', `the XML could not be read: ${message}`) };
  }
  const roots = toElement('#document', parsed).children;
  // The validator lets some multi-root documents through (`<a/><a/>`); one transaction has one root.
  if (roots.length !== 1) {
    return {
      ok: false,
      error: xmlApiError('XML_MALFORMED', `the XML document has ${roots.length} root elements, not 1`),
    };
  }
  return { ok: true, root: roots[0]! };
}
