import { xmlApiError } from './xml-api-errors.ts';
import type { XmlApiError } from './xml-api-errors.ts';
import type { XmlElement } from './xml-element.ts';
import { transactionRootName } from './detect-transactions.ts';

/** The envelope of one transaction, as written; values are trimmed text, null when absent or empty. */
export interface XmlTransactionEnvelope {
  externalApplicationName: string | null;
  sendResponseToEmail: string | null;
  password: string | null;
  returnTransactionId: string | null;
  dataKind: string | null;
  /** The `FLD…` elements of `RecordData`, in order; null when `RecordData` is missing. */
  recordData: XmlElement[] | null;
}

const envelopeElements = {
  externalapplicationname: 'ExternalApplicationName',
  sendresponsetoemail: 'SendResponseToEmail',
  password: 'Password',
  returntransactionid: 'ReturnTransactionID',
  datakind: 'DataKind',
  recorddata: 'RecordData',
} as const;

type EnvelopeKey = keyof typeof envelopeElements;

/** Longest envelope values kept: enough for any real name or correlation id. */
const maxEnvelopeValue = 256;

/**
 * Reads the envelope leniently: everything readable is kept, so that even a refused transaction
 * can be answered (its `SendResponseToEmail` and `ReturnTransactionID`) and recorded.
 * Element names match case-insensitively.
 */
export function readEnvelope(root: XmlElement): { envelope: XmlTransactionEnvelope; errors: XmlApiError[] } {
  const envelope: XmlTransactionEnvelope = {
    externalApplicationName: null,
    sendResponseToEmail: null,
    password: null,
    returnTransactionId: null,
    dataKind: null,
    recordData: null,
  };
  const errors: XmlApiError[] = [];
  if (root.name !== transactionRootName) {
    errors.push(
      xmlApiError(
        'INVALID_ENVELOPE',
        `the root element is <${root.name}>, expected <${transactionRootName}>`,
      ),
    );
    return { envelope, errors };
  }
  const seen = new Set<EnvelopeKey>();
  for (const child of root.children) {
    const key = child.name.toLowerCase();
    if (!Object.hasOwn(envelopeElements, key)) {
      errors.push(xmlApiError('INVALID_ENVELOPE', `unknown envelope element <${child.name}>`, child.name));
      continue;
    }
    const known = key as EnvelopeKey;
    const name = envelopeElements[known];
    if (seen.has(known)) {
      errors.push(xmlApiError('INVALID_ENVELOPE', `<${name}> appears more than once`, name));
      continue;
    }
    seen.add(known);
    if (known === 'recorddata') {
      envelope.recordData = child.children;
      continue;
    }
    if (child.children.length > 0) {
      errors.push(xmlApiError('INVALID_ENVELOPE', `<${name}> must hold text, not elements`, name));
      continue;
    }
    if (child.text.length > maxEnvelopeValue) {
      errors.push(
        xmlApiError('INVALID_ENVELOPE', `<${name}> is longer than ${maxEnvelopeValue} characters`, name),
      );
      continue;
    }
    const value = child.text === '' ? null : child.text;
    if (known === 'externalapplicationname') envelope.externalApplicationName = value;
    else if (known === 'sendresponsetoemail') envelope.sendResponseToEmail = value;
    else if (known === 'password') envelope.password = value;
    else if (known === 'returntransactionid') envelope.returnTransactionId = value;
    else envelope.dataKind = value;
  }
  if (envelope.dataKind === null && !errors.some((error) => error.field === 'DataKind')) {
    errors.push(xmlApiError('INVALID_ENVELOPE', '<DataKind> is missing', 'DataKind'));
  }
  if (envelope.recordData === null && !seen.has('recorddata')) {
    errors.push(xmlApiError('INVALID_ENVELOPE', '<RecordData> is missing', 'RecordData'));
  }
  return { envelope, errors };
}
