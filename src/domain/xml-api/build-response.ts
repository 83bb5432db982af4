import type { XmlApiError } from './xml-api-errors.ts';
import type { XmlOperation } from './xml-transaction.ts';

/** Everything known about one transaction's fate: the response document and the outcome both show it. */
export interface XmlTransactionReport {
  /** 0-based position in the mail. */
  index: number;
  /** `body` or `attachment "name.xml"`. */
  source: string;
  externalApplicationName: string | null;
  returnTransactionId: string | null;
  /** As written in the XML (may be unknown), or null when unreadable. */
  dataKind: string | null;
  operation: XmlOperation | null;
  status: 'success' | 'failure';
  recordId: string | null;
  accountId: string | null;
  ticketNumber: string | null;
  errors: XmlApiError[];
}

// Characters XML 1.0 cannot carry at all, even escaped.
// eslint-disable-next-line no-control-regex
const notXmlChars = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function escapeXml(value: string): string {
  return value
    .replace(notXmlChars, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const element = (indent: string, name: string, value: string): string =>
  `${indent}<${name}>${escapeXml(value)}</${name}>`;

/**
 * The `CommitCRMTransactionResponse` document for one transaction (docs/xml-api.md, "Responses").
 * Values the caller sent are echoed escaped, never as markup.
 */
export function buildResponseXml(report: XmlTransactionReport): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<CommitCRMTransactionResponse>'];
  if (report.externalApplicationName !== null) {
    lines.push(element('  ', 'ExternalApplicationName', report.externalApplicationName));
  }
  lines.push(element('  ', 'ReturnTransactionID', report.returnTransactionId ?? ''));
  if (report.dataKind !== null) lines.push(element('  ', 'DataKind', report.dataKind));
  if (report.operation !== null) lines.push(element('  ', 'Operation', report.operation.toUpperCase()));
  lines.push(element('  ', 'Status', report.status === 'success' ? 'SUCCESS' : 'FAILURE'));
  if (report.recordId !== null) lines.push(element('  ', 'RecordID', report.recordId));
  if (report.ticketNumber !== null) lines.push(element('  ', 'TicketNumber', report.ticketNumber));
  if (report.errors.length > 0) {
    lines.push('  <Errors>');
    for (const error of report.errors) {
      lines.push('    <Error>');
      lines.push(element('      ', 'Code', error.code));
      if (error.field !== null) lines.push(element('      ', 'Field', error.field));
      lines.push(element('      ', 'Message', error.message));
      lines.push('    </Error>');
    }
    lines.push('  </Errors>');
  }
  lines.push('</CommitCRMTransactionResponse>');
  return `${lines.join('\n')}\n`;
}
