import type { ParsedEmail } from '../domain/email.ts';
import type { Ticket } from '../domain/crm.ts';
import { findTicketTags, formatTicketTag } from '../domain/ticket-tag.ts';
import type { NewOutgoingMail } from '../crm/crm-store.ts';
import { composeMail, headerText } from './compose-mail.ts';
import type { ProcessingSettings } from './processing-settings.ts';
import { newMessageId, newReferenceToken } from './thread-reference.ts';
import { heldOriginalPlaceholder, originalPlaceholder } from './original-placeholder.ts';

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
 *
 * The original is never composed in: the forward's MIME carries a placeholder where it goes, and the outbox keeps
 * the original once, either as the filed document (`filedAs`) or as the forward's own copy of the very buffer given
 * (`heldOriginal`). Sending puts it in place (processing/original-placeholder.ts), byte for byte what composing it
 * in would have given.
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
  const subject = headerText(`[Email Connector] ${note.title}: ${ticketTag}${subjectOriginal}`).slice(0, 250);
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
  const id = newId();
  const placeholder = filedAs ? originalPlaceholder(filedAs) : heldOriginalPlaceholder(id);
  const mime = await composeMail({
    from: settings.supportAddress,
    to: [settings.internalSupportAddress],
    subject,
    text: lines.join('\n'),
    messageId,
    replyTo: email?.replyTo[0]?.address ?? email?.from?.address ?? undefined,
    headers: { 'Auto-Submitted': 'auto-forwarded', 'X-Email-Connector': 'forward' },
    original: raw ? { filename: safeFilename(subjectOriginal), raw: placeholder } : undefined,
  });
  return {
    id,
    kind: 'forward',
    to: [settings.internalSupportAddress],
    subject,
    messageId,
    referenceToken: null,
    ticketId: note.ticket?.id ?? null,
    mime,
    originalDocumentId: raw && filedAs ? filedAs : null,
    heldOriginal: raw && !filedAs ? raw : null,
    aboutSender: email?.from?.address ?? null,
  };
}

/**
 * The one notice an hour that replaces the forwards about a sender who floods the support address: the mails
 * themselves are recorded (outcomes flagged `forward-suppressed:flood`) and stay filed or in the mailbox.
 */
export async function composeFloodNotice(
  sender: string,
  forwardedThisHour: number,
  settings: ProcessingSettings,
  newId: () => string,
): Promise<NewOutgoingMail> {
  const messageId = newMessageId(settings.supportAddress);
  const subject = headerText(`[Email Connector] Flood from ${sender}: forwards paused for an hour`).slice(
    0,
    250,
  );
  const text = [
    `${forwardedThisHour} mails from ${sender} were forwarded in the last hour (FORWARD_LIMIT_PER_SENDER_PER_HOUR=${settings.forwardLimitPerSender}).`,
    '',
    'Further mail from this sender is still processed and recorded, but not forwarded one by one until the hour',
    'has passed: see the outcomes flagged forward-suppressed:flood, and the messages in the mailbox or filed',
    'under their tickets. Nothing is deleted.',
  ].join('\n');
  const mime = await composeMail({
    from: settings.supportAddress,
    to: [settings.internalSupportAddress],
    subject,
    text,
    messageId,
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Email-Connector': 'notice' },
  });
  return {
    id: newId(),
    kind: 'notice',
    to: [settings.internalSupportAddress],
    subject,
    messageId,
    referenceToken: null,
    ticketId: null,
    mime,
    aboutSender: sender,
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
  let subject = headerText(fillTemplate(settings.acknowledgment.subjectTemplate, values)).trim();
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
