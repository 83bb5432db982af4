import type { MailPieces } from './mail-pieces.ts';

export type { DeferredPiece, MailPiece, MailPieces } from './mail-pieces.ts';

/** Where a message goes once its outcome is final. */
export type SettledFolder = 'processed' | 'failed';

export interface SendMailOptions {
  /** Our outbox id for the mail; adapters that can, use it to avoid sending one mail twice. */
  outboxId: string;
  signal?: AbortSignal;
}

/** Which support mailbox a message came to. */
export interface MessageOrigin {
  /** How its outcome names the mailbox: the mailbox's address, SUPPORT_MAILBOX as configured, or `local`. */
  mailbox: string;
  /** The address its answers (acknowledgments, forwards, API responses) go out from; null = SUPPORT_ADDRESS. */
  supportAddress: string | null;
}

/**
 * The support mailbox: the local folder on a laptop, Exchange Online through Microsoft Graph in production.
 * `test/mailbox/mailbox.contract.ts` is the behaviour every adapter must show.
 */
export interface Mailbox {
  /** A short name for logs and outcomes: `local` or `graph`. */
  readonly name: string;
  /** The raw MIME of a message in the inbox, by the mailbox's own id. Throws MailboxError('not-found') when gone. */
  fetchRaw(mailboxId: string, options?: { signal?: AbortSignal }): Promise<Buffer>;
  /**
   * Sends a complete MIME message (From, To, Subject... inside), given as one buffer or as pieces to be sent one
   * after the other (a forward: its head, the original, its tail), which the adapter never joins into one buffer;
   * a deferred piece (an original kept in the store) is read only as it is sent.
   * (A property rather than a method, so that the compiler refuses an adapter that takes only a Buffer.)
   */
  send: (mail: MailPieces, options: SendMailOptions) => Promise<void>;
  /** Moves a message out of the inbox into its final folder; a message already moved is not an error. */
  settle(mailboxId: string, folder: SettledFolder): Promise<void>;
  /** The ids of every message currently in the inbox (catch-up after downtime). */
  listInbox(): Promise<string[]>;
  /** Which mailbox holds the message; absent: the adapter's `name`, answered from SUPPORT_ADDRESS. */
  origin?(mailboxId: string): MessageOrigin;
}
