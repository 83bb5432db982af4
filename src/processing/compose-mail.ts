import MailComposer from 'nodemailer/lib/mail-composer/index.js';

export interface ComposeMailSpec {
  from: string;
  to: string[];
  cc?: string[];
  /** Kept in the MIME: Microsoft Graph's sendMail reads every recipient from the message itself. */
  bcc?: string[];
  replyTo?: string;
  subject: string;
  text: string;
  html?: string;
  /** Without angle brackets. */
  messageId: string;
  inReplyTo?: string | null;
  references?: string[];
  /** Extra headers, e.g. `Auto-Submitted: auto-replied`. */
  headers?: Record<string, string>;
  attachments?: { filename: string; content: Buffer; contentType: string }[];
  /** An original message carried intact as a `message/rfc822` attachment. */
  original?: { filename: string; raw: Buffer };
  date?: Date;
}

/**
 * Header text that came from a mail or a caller: control characters (a NUL, a bare CR or LF) and the
 * invisible direction overrides used to disguise text become spaces, so no header carries them.
 */
export function headerText(value: string): string {
  return value.replace(/[\p{Cc}\u202A-\u202E\u2066-\u2069]+/gu, ' ');
}

/** Builds a complete MIME message with nodemailer's composer. */
export async function composeMail(spec: ComposeMailSpec): Promise<Buffer> {
  const attachments = (spec.attachments ?? []).map((attachment) => ({
    ...attachment,
    filename: headerText(attachment.filename),
  }));
  const all: { filename: string; content: Buffer; contentType: string; contentDisposition?: 'attachment' }[] =
    [...attachments];
  if (spec.original) {
    all.push({
      filename: headerText(spec.original.filename),
      content: spec.original.raw,
      contentType: 'message/rfc822',
      contentDisposition: 'attachment',
    });
  }
  const composer = new MailComposer({
    from: spec.from,
    to: spec.to,
    cc: spec.cc,
    bcc: spec.bcc,
    replyTo: spec.replyTo,
    subject: headerText(spec.subject),
    text: spec.text,
    html: spec.html,
    messageId: `<${spec.messageId}>`,
    inReplyTo: spec.inReplyTo ? `<${spec.inReplyTo}>` : undefined,
    references: spec.references?.map((id) => `<${id}>`),
    headers: spec.headers
      ? Object.fromEntries(Object.entries(spec.headers).map(([name, value]) => [name, headerText(value)]))
      : undefined,
    attachments: all,
    date: spec.date ?? new Date(),
  });
  const node = composer.compile();
  node.keepBcc = true;
  return node.build();
}
