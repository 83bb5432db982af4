// A transaction document as the XML API reads it, whatever parsed it (processing/xml-api/parse-xml-document.ts).

/** An element as the XML API reads it: attributes are ignored, every value is text. */
export interface XmlElement {
  name: string;
  /** The element's own text (CDATA included), trimmed; empty for an empty element. */
  text: string;
  children: XmlElement[];
}

export interface XmlDocumentLimits {
  /** Largest accepted document in UTF-8 bytes. Default 1 MiB: a transaction is a few KB. */
  maxBytes: number;
  /** Deepest accepted element nesting. Default 8: a transaction nests 3 deep. */
  maxDepth: number;
}

export const defaultXmlDocumentLimits: Readonly<XmlDocumentLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 8,
});
