import { normaliseAddress } from '../../domain/addresses.ts';
import { buildResponseXml } from '../../domain/xml-api/build-response.ts';
import type { XmlTransactionReport } from '../../domain/xml-api/build-response.ts';
import { isOwnAddress, readResponseAddress } from './response-address.ts';
import type { NewOutgoingMail } from '../../crm/crm-store.ts';
import { composeMail } from '../compose-mail.ts';
import { newMessageId } from '../thread-reference.ts';

export interface ResponseSettings {
  sendResponses: boolean;
  responseBcc: string | null;
  supportAddress: string;
  /** The connector's own addresses (support, internal support, the mailbox): never answered, in any form. */
  ownAddresses: readonly string[];
}

/** Who gets a transaction's response, or why nobody does (recorded in the outcome). */
export type ResponseRouting = { to: string; bcc: string | null } | { skipped: string };

/**
 * A response goes to `SendResponseToEmail` only, and only when it is exactly one address: never to the
 * sender as such (only when the XML names it), never to a list, never to one of the connector's own
 * addresses (it would come back as a new message: a loop). The Bcc copy is never an own address either.
 */
export function routeResponse(
  sendResponseToEmail: string | null,
  settings: ResponseSettings,
): ResponseRouting {
  if (!settings.sendResponses) return { skipped: 'responses are turned off (XML_API_SEND_RESPONSES=false)' };
  if (sendResponseToEmail === null) return { skipped: 'the transaction names no SendResponseToEmail' };
  const read = readResponseAddress(sendResponseToEmail);
  if (!read.ok) return { skipped: read.reason };
  const to = read.address;
  if (isOwnAddress(to, settings.ownAddresses)) {
    return {
      skipped:
        "SendResponseToEmail is one of the connector's own addresses (the support address, internal support or the mailbox): it would loop",
    };
  }
  const bcc = normaliseAddress(settings.responseBcc);
  return { to, bcc: bcc && bcc !== to && !isOwnAddress(bcc, settings.ownAddresses) ? bcc : null };
}

/** A header value from caller text: one line, bounded. */
export const oneLine = (value: string, max: number): string =>
  value
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .trim()
    .slice(0, max);

/** The response mail: the `CommitCRMTransactionResponse` document as its text body. */
export async function composeResponseMail(
  report: XmlTransactionReport,
  routing: { to: string; bcc: string | null },
  inReplyTo: string | null,
  settings: ResponseSettings,
  newId: () => string,
): Promise<NewOutgoingMail> {
  const status = report.status === 'success' ? 'SUCCESS' : 'FAILURE';
  const about = [report.dataKind, report.returnTransactionId ? `(${report.returnTransactionId})` : null]
    .filter((part): part is string => part !== null)
    .map((part) => oneLine(part, 80))
    .join(' ');
  const subject = `XML API response: ${status}${about ? ` ${about}` : ''}`;
  const messageId = newMessageId(settings.supportAddress);
  const mime = await composeMail({
    from: settings.supportAddress,
    to: [routing.to],
    bcc: routing.bcc ? [routing.bcc] : undefined,
    subject,
    text: buildResponseXml(report),
    messageId,
    inReplyTo,
    references: inReplyTo ? [inReplyTo] : [],
    // RFC 3834: an automatic reply, which the other side should not answer automatically.
    headers: {
      'Auto-Submitted': 'auto-replied',
      'X-Auto-Response-Suppress': 'All',
      'X-Email-Connector': 'api-response',
    },
  });
  return {
    id: newId(),
    kind: 'api-response',
    // The Bcc travels in the MIME (the mailbox sends to every recipient it names); the outcome's details
    // record it.
    to: [routing.to],
    subject,
    messageId,
    referenceToken: null,
    ticketId: null,
    mime,
  };
}
