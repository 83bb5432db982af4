import type { ParsedEmail } from '../../domain/email.ts';
import { detectXmlTransactions } from '../../domain/xml-api/detect-transactions.ts';
import type { XmlTransactionReport } from '../../domain/xml-api/build-response.ts';
import type { CrmStore, NewOutgoingMail } from '../../crm/crm-store.ts';
import type { ApiHandling } from '../process-message.ts';
import { composeResponseMail, routeResponse } from './response-mail.ts';
import type { ResponseRouting } from './response-mail.ts';
import { runTransaction, unreadable } from './run-transaction.ts';
import type { TransactionRun } from './run-transaction.ts';

export interface XmlApiSettings {
  /** XML_API_ENABLED: when false, no mail is an API call. */
  enabled: boolean;
  /** XML_API_PASSWORD: when set, every transaction must carry it. */
  password: string | null;
  /** XML_API_SEND_RESPONSES. */
  sendResponses: boolean;
  /** XML_API_RESPONSE_BCC: a copy of every response, or null. */
  responseBcc: string | null;
  supportAddress: string;
  /** TICKET_NUMBER_DIGITS, for the numbers of new tickets. */
  ticketDigits: number;
}

export interface XmlApiDeps {
  store: CrmStore;
  settings: XmlApiSettings;
  /** The message's idempotency key (`messageKey(email)`); each transaction's result is stored under it. */
  messageKey: string;
  newId: () => string;
  now: () => Date;
}

/** What one transaction did, as the outcome's `details.transactions` records it. */
export interface XmlTransactionDetails extends XmlTransactionReport {
  response: ResponseRouting;
}

/**
 * An XML API mail's result, for the caller to record as an outcome (action `api`) with its outbox mails. The
 * ticket number is the first ticket a transaction added or updated; the account, the first successful one's.
 */
export interface XmlApiHandling extends ApiHandling {
  code: 'api-applied' | 'api-rejected' | 'api-partial';
  details: { transactions: XmlTransactionDetails[] };
}

function describe(report: XmlTransactionReport): string {
  const what = [report.dataKind ?? 'transaction', report.operation].filter(Boolean).join(' ');
  const number = report.ticketNumber ? ` ticket ${report.ticketNumber}` : '';
  return report.status === 'success'
    ? `${what} applied to record ${report.recordId}${number}`
    : `${what} refused: ${report.errors.map((error) => error.code).join(', ')}`;
}

function summarise(reports: readonly XmlTransactionReport[]): Pick<XmlApiHandling, 'code' | 'reason'> {
  const applied = reports.filter((report) => report.status === 'success').length;
  const code = applied === reports.length ? 'api-applied' : applied === 0 ? 'api-rejected' : 'api-partial';
  const each = reports.map((report) =>
    reports.length === 1 ? describe(report) : `#${report.index + 1} ${describe(report)}`,
  );
  return { code, reason: `XML API: ${each.join('; ')}` };
}

/**
 * Step 2 of the decision order (DESIGN §4): when the mail is an XML API call, applies each of its
 * transactions and prepares the response mails; null when it is not one (or the API is off), and
 * normal processing continues. Nothing is sent here: the caller commits `outgoing` with the outcome.
 */
export async function handleXmlApiMail(email: ParsedEmail, deps: XmlApiDeps): Promise<XmlApiHandling | null> {
  const { settings } = deps;
  if (!settings.enabled) return null;
  const detection = detectXmlTransactions(email);
  if (!detection) return null;

  const runs: TransactionRun[] = [];
  if (detection.refused) runs.push(unreadable(0, 'mail', detection.refused));
  // One at a time, in order: a later transaction may use a record an earlier one added.
  for (const [index, document] of detection.documents.entries()) {
    runs.push(
      await runTransaction(document, index, {
        store: deps.store,
        settings: { password: settings.password || null, ticketNumberDigits: settings.ticketDigits },
        key: `${deps.messageKey}#${index}`,
        newId: deps.newId,
        now: deps.now,
      }),
    );
  }

  const transactions: XmlTransactionDetails[] = [];
  const outgoing: NewOutgoingMail[] = [];
  for (const { report, readable, sendResponseToEmail } of runs) {
    const response: ResponseRouting = readable
      ? routeResponse(sendResponseToEmail, settings)
      : { skipped: 'the XML could not be read, so it names no address to answer' };
    if ('to' in response) {
      outgoing.push(await composeResponseMail(report, response, email.messageId, settings, deps.newId));
    }
    transactions.push({ ...report, response });
  }
  const reports = runs.map((run) => run.report);
  const applied = reports.filter((report) => report.status === 'success');
  return {
    ...summarise(reports),
    details: { transactions },
    ticketNumber: applied.find((report) => report.ticketNumber !== null)?.ticketNumber ?? null,
    accountId: applied[0]?.accountId ?? null,
    outgoing,
  };
}
