import type { Mailbox, MessageOrigin, SendMailOptions, SettledFolder } from './mailbox.ts';
import { piecesOf, type MailPieces } from './mail-pieces.ts';
import { MailboxError } from './mailbox-error.ts';

export interface MailboxSetEntry {
  /** The mailbox's address: its mail is answered from it, and mail sent from it goes out through it. */
  address: string;
  mailbox: Mailbox;
}

/**
 * Several support mailboxes as one (SUPPORT_MAILBOX listing more than one), so the queue, the worker and the outbox
 * need not know how many there are.
 *
 * A message's id names its mailbox, `<address>/<id>`, except in the first mailbox, whose ids stay as its adapter gave
 * them: what a single mailbox queued before a second one was added is still found. Neither Graph's ids nor the local
 * folder's contain a `/`, so the last one separates the two parts.
 *
 * A mail to send goes out through the mailbox whose address is its From (the outbox keeps only the MIME); a From of
 * none of them (SUPPORT_ADDRESS on a notice) goes through the first.
 */
export class MailboxSet implements Mailbox {
  readonly name: string;
  readonly #entries: readonly MailboxSetEntry[];
  readonly #byAddress: ReadonlyMap<string, MailboxSetEntry>;

  constructor(entries: readonly MailboxSetEntry[]) {
    const first = entries[0];
    if (!first) throw new Error('a mailbox set needs at least one mailbox');
    this.name = first.mailbox.name;
    this.#entries = entries.map((entry) => ({ ...entry, address: entry.address.toLowerCase() }));
    this.#byAddress = new Map(this.#entries.map((entry) => [entry.address, entry]));
    if (this.#byAddress.size !== entries.length) throw new Error('a mailbox set names each address once');
  }

  /** The set's id for a message that the mailbox with this address gave `mailboxId`. */
  idFor(address: string, mailboxId: string): string {
    const key = address.toLowerCase();
    if (!this.#byAddress.has(key)) throw new Error(`${address} is not in this mailbox set`);
    return key === this.#entries[0]!.address ? mailboxId : `${key}/${mailboxId}`;
  }

  origin(mailboxId: string): MessageOrigin {
    const { address, entry } = this.#locate(mailboxId);
    return { mailbox: address, supportAddress: entry ? address : null };
  }

  async fetchRaw(mailboxId: string, options?: { signal?: AbortSignal }): Promise<Buffer> {
    const { entry, id } = this.#locateConfigured(mailboxId);
    return entry.mailbox.fetchRaw(id, options);
  }

  async settle(mailboxId: string, folder: SettledFolder): Promise<void> {
    const { entry, id } = this.#locateConfigured(mailboxId);
    return entry.mailbox.settle(id, folder);
  }

  send(mail: MailPieces, options: SendMailOptions): Promise<void> {
    const from = fromAddressOf(mail);
    const entry = (from && this.#byAddress.get(from)) || this.#entries[0]!;
    return entry.mailbox.send(mail, options);
  }

  async listInbox(): Promise<string[]> {
    const ids: string[] = [];
    for (const entry of this.#entries) {
      for (const id of await entry.mailbox.listInbox()) ids.push(this.idFor(entry.address, id));
    }
    return ids;
  }

  /** The mailbox an id names, and the mailbox's own id; `entry` is null for a mailbox no longer in the set. */
  #locate(mailboxId: string): { address: string; entry: MailboxSetEntry | null; id: string } {
    const at = mailboxId.lastIndexOf('/');
    if (at < 0) return { address: this.#entries[0]!.address, entry: this.#entries[0]!, id: mailboxId };
    const address = mailboxId.slice(0, at).toLowerCase();
    return { address, entry: this.#byAddress.get(address) ?? null, id: mailboxId.slice(at + 1) };
  }

  #locateConfigured(mailboxId: string): { entry: MailboxSetEntry; id: string } {
    const { address, entry, id } = this.#locate(mailboxId);
    // Queued while SUPPORT_MAILBOX still listed it: quarantined (not lost) until the mailbox is listed again.
    if (!entry)
      throw new MailboxError(
        'permanent',
        `the message is in mailbox ${address}, which is no longer configured`,
      );
    return { entry, id };
  }
}

/** How far into a message its header block is looked for (a From further down is not taken). */
const headerSearchBytes = 256 * 1024;

/**
 * The address of the From header of a MIME message (lower case), or null. Reads the header block only: the
 * buffers up to the first empty line (not a deferred piece), and no more than 256 KiB.
 */
export function fromAddressOf(mail: MailPieces): string | null {
  let text = '';
  let end = -1;
  for (const piece of piecesOf(mail)) {
    const room = headerSearchBytes - text.length;
    // A deferred piece is the body's (a forward's original), not the header block's.
    if (room <= 0 || !Buffer.isBuffer(piece)) break;
    text += piece.subarray(0, room).toString('latin1');
    end = text.search(/\r?\n\r?\n/);
    if (end >= 0) break;
  }
  const headers = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const from = /^from:(.*)$/im.exec(headers)?.[1];
  if (!from) return null;
  const address = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(from.trim())?.[1] ?? /[^\s<>"]+@[^\s<>"]+/.exec(from)?.[0];
  return address ? address.toLowerCase() : null;
}
