import { parseXmlDocument } from './parse-xml-document.ts';
import type { XmlApiDocument } from '../../domain/xml-api/detect-transactions.ts';
import { readEnvelope } from '../../domain/xml-api/read-envelope.ts';
import { validateTransaction } from '../../domain/xml-api/validate-transaction.ts';
import type { XmlValidationSettings } from '../../domain/xml-api/validate-transaction.ts';
import type { XmlTransactionReport } from '../../domain/xml-api/build-response.ts';
import type { XmlApiError } from '../../domain/xml-api/xml-api-errors.ts';
import type { CrmStore } from '../../crm/crm-store.ts';
import { passwordMatches } from './check-password.ts';

/** Who a change is recorded as when the transaction does not say (no ExternalApplicationName). */
export const defaultXmlApiAuthor = 'XML API';

export interface TransactionRun {
  report: XmlTransactionReport;
  /** False when the document could not be read as a transaction: it names nobody to answer. */
  readable: boolean;
  sendResponseToEmail: string | null;
}

export interface RunContext {
  store: CrmStore;
  settings: XmlValidationSettings;
  /** Identifies this transaction's stored result (message key + index). */
  key: string;
  newId: () => string;
  now: () => Date;
}

export function unreadable(index: number, source: string, error: XmlApiError): TransactionRun {
  return {
    report: {
      index,
      source,
      externalApplicationName: null,
      returnTransactionId: null,
      dataKind: null,
      operation: null,
      status: 'failure',
      recordId: null,
      accountId: null,
      ticketNumber: null,
      errors: [error],
    },
    readable: false,
    sendResponseToEmail: null,
  };
}

/** One transaction from document to stored result: read, check, apply. */
export async function runTransaction(
  document: XmlApiDocument,
  index: number,
  context: RunContext,
): Promise<TransactionRun> {
  if (document.error) return unreadable(index, document.source, document.error);
  const parsed = parseXmlDocument(document.text);
  if (!parsed.ok) return unreadable(index, document.source, parsed.error);
  const { envelope, errors } = readEnvelope(parsed.root);
  const base = {
    index,
    source: document.source,
    externalApplicationName: envelope.externalApplicationName,
    returnTransactionId: envelope.returnTransactionId,
  };
  const run = (report: Omit<XmlTransactionReport, keyof typeof base>): TransactionRun => ({
    report: { ...base, ...report },
    readable: true,
    sendResponseToEmail: envelope.sendResponseToEmail,
  });
  const validation = validateTransaction(envelope, errors, context.settings, {
    newRecordId: context.newId(),
    now: context.now(),
    passwordMatches,
  });
  if (!validation.ok) {
    return run({
      dataKind: validation.dataKind ?? envelope.dataKind,
      operation: validation.operation,
      status: 'failure',
      recordId: validation.recordId,
      accountId: null,
      ticketNumber: null,
      errors: validation.errors,
    });
  }
  const author = envelope.externalApplicationName ?? defaultXmlApiAuthor;
  const result = await context.store.applyXmlTransaction(context.key, validation.transaction, author);
  if (result.status === 'failure') {
    return run({
      dataKind: result.dataKind,
      operation: result.operation,
      status: 'failure',
      recordId: result.recordId,
      accountId: null,
      ticketNumber: null,
      errors: result.errors,
    });
  }
  return run({
    dataKind: result.dataKind,
    operation: result.operation,
    status: 'success',
    recordId: result.recordId,
    accountId: result.accountId,
    ticketNumber: result.ticketNumber,
    errors: [],
  });
}
