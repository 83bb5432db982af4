import type { ParsedEmail } from '../domain/email.ts';
import type { Ticket } from '../domain/crm.ts';
import { findTicketTags, formatTicketTag } from '../domain/ticket-tag.ts';
import type { NewOutgoingMail } from '../crm/crm-store.ts';
import { composeMail } from './compose-mail.ts';
import type { ProcessingSettings } from './processing-settings.ts';
import { newMessageId, newReferenceToken } from './thread-reference.ts';
import { originalPlaceholder } from './original-placeholder.ts';

/** What the note of a forward says: the decision and why. */
export interface ForwardNote {
  title: string;
  reason: string;
  ticket?: Ticket | null;
  accountId?: string | null;
  flags?: string[];
}

function describeSender(email: ParsedEmail | null): string {
  if (!email?.from) return 'unknown sender';
  return email.from.name ? `${email.from.name} <${email.from.address}>` : email.from.address;
}

function safeFilename(subject: string): string {
  const base = subject
    .replace(/[^\p{L}\p{N} ._-]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 60);
  return `${base || 'message'}.eml`;
}

/**
 * A forward to internal support: a new message from the support address carrying the original intact
 * as `message/rfc822`, with a note that says what was decided and why.
 */
export async function composeForward(
  email: ParsedEmail | null,
  raw: Buffer | null,
  note: ForwardNote,
  settings: ProcessingSettings,
  newId: () => string,
  /** The filed document holding `raw`: the forward then refers to it instead of carrying a second copy. */
  filedAs: string | null = null,
): Promise<NewOutgoingMail> {
  const messageId = newMessageId(settings.supportAddress);
  const subjectOriginal = email?.subject || '(no subject)';
  // The tag makes a reply from internal support thread to the ticket; the original may carry it already.
  const tagged =
    note.ticket && findTicketTags(subjectOriginal, settings.ticketTag).includes(note.ticket.number);
  const ticketTag =
    note.ticket && !tagged ? `${formatTicketTag(note.ticket.number, settings.ticketTag)} ` : '';
  const subject = `[Email Connector] ${note.title}: ${ticketTag}${subjectOriginal}`.slice(0, 250);
  const lines = [
    `${note.title}.`,
    '',
    `Reason: ${note.reason}`,
    `From: ${describeSender(email)}`,
    `Subject: ${subjectOriginal}`,
    `Date: ${email?.date?.toISOString() ?? 'unknown'}`,
  ];
  if (note.ticket) lines.push(`Ticket: ${note.ticket.number} (account ${note.ticket.accountId})`);
  else if (note.accountId) lines.push(`Account: ${note.accountId}`);
  if (note.flags && note.flags.length > 0) lines.push(`Flags: ${note.flags.join(', ')}`);
  lines.push(
    '',
    raw ? 'The original message is attached unchanged.' : 'The original message is not attached.',
  );
  const mime = await composeMail({
    from: settings.supportAddress,
    to: [settings.internalSupportAddress],
    subject,
    text: lines.join('\n'),
    messageId,
    replyTo: email?.replyTo[0]?.address ?? email?.from?.address ?? undefined,
    headers: { 'Auto-Submitted': 'auto-forwarded', 'X-Email-Connector': 'forward' },
    original: raw
      ? { filename: safeFilename(subjectOriginal), raw: filedAs ? originalPlaceholder(filedAs) : raw }
      : undefined,
  });
  return {
    id: newId(),
    kind: 'forward',
    to: [settings.internalSupportAddress],
    subject,
    messageId,
    referenceToken: null,
    ticketId: note.ticket?.id ?? null,
    mime,
    originalDocumentId: raw && filedAs ? filedAs : null,
  };
}

function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char]!);

/** The acknowledgment to a customer: the ticket tag in the subject, a reference token in the body. */
export async function composeAcknowledgment(
  email: ParsedEmail,
  ticket: Ticket,
  accountName: string,
  recipient: string,
  settings: ProcessingSettings,
  newId: () => string,
): Promise<NewOutgoingMail> {
  const ticketTag = formatTicketTag(ticket.number, settings.ticketTag);
  const values = {
    ticketTag,
    ticketNumber: ticket.number,
    subject: email.subject || '(no subject)',
    accountName,
    senderName: email.from?.name || email.from?.address || '',
  };
  let subject = fillTemplate(settings.acknowledgment.subjectTemplate, values).trim();
  // Threading depends on the tag: a template without it still gets it.
  if (!subject.includes(ticketTag)) subject = `${ticketTag} ${subject}`;
  const body = fillTemplate(settings.acknowledgment.bodyTemplate, values);
  const token = newReferenceToken();
  const messageId = newMessageId(settings.supportAddress);
  const mime = await composeMail({
    from: settings.supportAddress,
    to: [recipient],
    subject,
    text: `${body}\n\n${token}`,
    html: `<div style="white-space:pre-wrap">${escapeHtml(body)}</div><div style="display:none;font-size:0;color:transparent">${token}</div>`,
    messageId,
    inReplyTo: email.messageId,
    references: email.messageId ? [email.messageId] : [],
    // RFC 3834: mark it as an automatic reply, and ask the other side not to auto-reply to it.
    headers: {
      'Auto-Submitted': 'auto-replied',
      'X-Auto-Response-Suppress': 'All',
      'X-Email-Connector': 'ack',
    },
  });
  return {
    id: newId(),
    kind: 'acknowledgment',
    to: [recipient],
    subject,
    messageId,
    referenceToken: token,
    ticketId: ticket.id,
    mime,
  };
}
