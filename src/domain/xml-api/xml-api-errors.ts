/**
 * The stable error codes of the XML API (docs/xml-api.md). Partners match on them, so a code is never
 * renamed or reused for another meaning; messages may change.
 */
export const xmlApiErrorCodes = [
  'XML_TOO_LARGE',
  'XML_DTD_FORBIDDEN',
  'XML_TOO_DEEP',
  'XML_MALFORMED',
  'TOO_MANY_TRANSACTIONS',
  'INVALID_ENVELOPE',
  'BAD_PASSWORD',
  'UNKNOWN_DATAKIND',
  'UNSUPPORTED_DATAKIND',
  'UNKNOWN_FIELD',
  'DUPLICATE_FIELD',
  'MISSING_FIELD',
  'INVALID_VALUE',
  'RECORD_NOT_FOUND',
  'LINKED_RECORD_NOT_FOUND',
  'LINK_MISMATCH',
] as const;

export type XmlApiErrorCode = (typeof xmlApiErrorCodes)[number];

/** One reason a transaction was refused; `field` names the element at fault, when there is one. */
export interface XmlApiError {
  code: XmlApiErrorCode;
  message: string;
  field: string | null;
}

export function xmlApiError(
  code: XmlApiErrorCode,
  message: string,
  field: string | null = null,
): XmlApiError {
  return { code, message, field };
}
