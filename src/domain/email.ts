/** A mailbox address: `address` is lower-case, `name` is the display name as written (may be empty). */
export interface EmailAddress {
  address: string;
  name: string;
}

export interface EmailAttachment {
  filename: string;
  contentType: string;
  /** Decoded size in bytes. */
  size: number;
  /**
   * The decoded bytes, held only for attachments the rules read (XML files, which may be API transactions).
   * Every other attachment stays in `raw` alone: `position` finds it there again.
   */
  content: Buffer | null;
  /** Which attachment of the message it is (0 = first), in the order the connector's MIME reader finds them. */
  position: number;
  contentId: string | null;
  inline: boolean;
}

/**
 * One incoming message, read from MIME. Everything the rules need is here; `raw` is the original,
 * byte for byte, so that nothing is lost when the message is filed or forwarded.
 */
export interface ParsedEmail {
  /** Message-ID without angle brackets, or null when the message has none. */
  messageId: string | null;
  from: EmailAddress | null;
  sender: EmailAddress | null;
  replyTo: EmailAddress[];
  to: EmailAddress[];
  cc: EmailAddress[];
  /** Bcc is rarely present on received mail; when it is, it is kept. */
  bcc: EmailAddress[];
  subject: string;
  date: Date | null;
  text: string;
  /** HTML body after sanitising (scripts, event handlers and remote content removed), or null. */
  html: string | null;
  attachments: EmailAttachment[];
  /** Message-IDs (without brackets) from In-Reply-To and References, most recent first. */
  inReplyTo: string[];
  references: string[];
  /** Top-level headers, lower-case names, first value as text. */
  headers: Readonly<Record<string, string>>;
  /** Top-level content type, lower-case, e.g. `multipart/report`. */
  contentType: string;
  raw: Buffer;
  /** sha256 of the raw message, hex. */
  contentHash: string;
  /** What the reader had to work around (broken MIME, undecodable parts); empty for clean mail. */
  problems: string[];
}
