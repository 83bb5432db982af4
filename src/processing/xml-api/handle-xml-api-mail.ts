import type { ParsedEmail } from '../../domain/email.ts';
import { detectXmlTransactions } from '../../domain/xml-api/detect-transactions.ts';
import type { XmlTransactionReport } from '../../domain/xml-api/build-response.ts';
import type { CrmStore, NewOutgoingMail } from '../../crm/crm-store.ts';
import type { ApiHandling } from '../process-message.ts';
import { composeForward } from '../outgoing-mail.ts';
import type { ProcessingSettings } from '../processing-settings.ts';
import { composeResponseMail, oneLine, routeResponse } from './response-mail.ts';
import type { ResponseRouting } from './response-mail.ts';
import { responseLimitReached } from './response-limits.ts';
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
  /** XML_API_RESPONSE_LIMIT_PER_HOUR: responses to one recipient per hour. */
  responseLimitPerRecipient: number;
  /** AUTO_REPLY_GLOBAL_LIMIT_PER_HOUR: acknowledgments and responses together, per hour. */
  autoReplyGlobalLimit: number;
  supportAddress: string;
  /**
   * Never answered in any form, nor sent the Bcc copy: the support address, the internal support address,
   * SUPPORT_MAILBOX (entries that are not addresses, such as a mailbox object id, match nothing).
   */
  ownAddresses: string[];
  /** TICKET_NUMBER_DIGITS, for the numbers of new tickets. */
  ticketDigits: number;
}

export interface XmlApiDeps {
  store: CrmStore;
  settings: XmlApiSettings;
  /** For the forward to internal support when a transaction fails authentication (composeForward). */
  processingSettings: ProcessingSettings;
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

/** The password check refused it: its caller has not shown that it may use the API, or be answered. */
const failedAuthentication = (run: TransactionRun): boolean =>
  run.report.errors.some((error) => error.code === 'BAD_PASSWORD');

/** Who gets one transaction's response: `answered` holds this mail's earlier recipients (rate limits). */
async function routeRun(
  run: TransactionRun,
  answered: readonly string[],
  deps: XmlApiDeps,
  now: Date,
): Promise<ResponseRouting> {
  if (!run.readable) return { skipped: 'the XML could not be read, so it names no address to answer' };
  if (failedAuthentication(run)) {
    return {
      skipped:
        'authentication failed (BAD_PASSWORD): nobody is answered; the mail is forwarded to internal support',
    };
  }
  const routing = routeResponse(run.sendResponseToEmail, deps.settings);
  if (!('to' in routing)) return routing;
  const limited = await responseLimitReached(routing.to, answered, deps.store, deps.settings, now);
  return limited ? { skipped: limited } : routing;
}

/**
 * One forward per mail, however many of its transactions failed: internal support sees who tries the
 * API without the password. The note says why, never which password was given or expected.
 */
async function forwardFailedAuthentication(
  email: ParsedEmail,
  failed: readonly TransactionRun[],
  total: number,
  deps: XmlApiDeps,
): Promise<NewOutgoingMail> {
  const each = failed.map(({ report, sendResponseToEmail }) => {
    const which = total === 1 ? '' : `transaction #${report.index + 1}: `;
    const asked = sendResponseToEmail
      ? ` (it asked for a response to ${oneLine(sendResponseToEmail, 256)}; none was sent)`
      : '';
    return `${which}${report.errors.map((error) => error.message).join(', ')}${asked}`;
  });
  const forward = await composeForward(
    email,
    email.raw,
    {
      title: 'XML API authentication failed',
      reason: `XML API authentication failed (BAD_PASSWORD): ${each.join('; ')}. ${failed.length === 1 ? 'It' : 'They'} changed nothing and nobody was answered.`,
    },
    deps.processingSettings,
    deps.newId,
  );
  return { ...forward, aboutSender: email.from?.address ?? null };
}

/**
 * Step 2 of the decision order (docs/xml-api.md): when the mail is an XML API call, applies each of its
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

  const now = deps.now();
  const transactions: XmlTransactionDetails[] = [];
  const outgoing: NewOutgoingMail[] = [];
  const answered: string[] = [];
  for (const run of runs) {
    const response = await routeRun(run, answered, deps, now);
    if ('to' in response) {
      outgoing.push(await composeResponseMail(run.report, response, email.messageId, settings, deps.newId));
      answered.push(response.to);
    }
    transactions.push({ ...run.report, response });
  }
  const unauthenticated = runs.filter(failedAuthentication);
  if (unauthenticated.length > 0) {
    outgoing.push(await forwardFailedAuthentication(email, unauthenticated, runs.length, deps));
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
