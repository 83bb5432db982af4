import { randomBytes } from 'node:crypto';

export interface StandInMessage {
  id: string;
  folderId: string;
  mime: Buffer;
  receivedDateTime: string;
}

export interface StandInFolder {
  id: string;
  displayName: string;
}

interface InboxChange {
  seq: number;
  id: string;
  kind: 'added' | 'removed';
}

export type DeltaItem = { id: string } | { id: string; '@removed': { reason: string } };

/** Looks like an immutable Exchange id, URL-safe. */
export function newId(prefix = 'AAMk'): string {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}

/** One mailbox of the stand-in: folders, messages and the change log of the inbox that delta reads. */
export class StandInMailbox {
  readonly inbox: StandInFolder = { id: newId('AQMk'), displayName: 'Inbox' };
  readonly folders = new Map<string, StandInFolder>([[this.inbox.id, this.inbox]]);
  readonly messages = new Map<string, StandInMessage>();
  readonly #changes: InboxChange[] = [];
  #seq = 0;

  get seq(): number {
    return this.#seq;
  }

  add(mime: Buffer, receivedDateTime: string): StandInMessage {
    const message: StandInMessage = { id: newId(), folderId: this.inbox.id, mime, receivedDateTime };
    this.messages.set(message.id, message);
    this.#log(message.id, 'added');
    return message;
  }

  /** A person deleting a message (before we could fetch it). */
  remove(id: string): void {
    const message = this.messages.get(id);
    if (!message) return;
    this.messages.delete(id);
    if (message.folderId === this.inbox.id) this.#log(id, 'removed');
  }

  move(id: string, folderId: string): StandInMessage | null {
    const message = this.messages.get(id);
    if (!message || !this.folders.has(folderId)) return null;
    const wasInInbox = message.folderId === this.inbox.id;
    message.folderId = folderId;
    if (wasInInbox && folderId !== this.inbox.id) this.#log(id, 'removed');
    if (!wasInInbox && folderId === this.inbox.id) this.#log(id, 'added');
    return message;
  }

  folderByName(name: string): StandInFolder | undefined {
    return [...this.folders.values()].find(
      (folder) => folder.displayName.toLowerCase() === name.toLowerCase(),
    );
  }

  inboxMessages(since: string | null): StandInMessage[] {
    return [...this.messages.values()].filter(
      (message) =>
        message.folderId === this.inbox.id && (since === null || message.receivedDateTime >= since),
    );
  }

  /** What changed in the inbox after `seq`: the last change per message. */
  changesSince(seq: number): DeltaItem[] {
    const last = new Map<string, InboxChange>();
    for (const change of this.#changes) if (change.seq > seq) last.set(change.id, change);
    return [...last.values()].map((change) =>
      change.kind === 'added' ? { id: change.id } : { id: change.id, '@removed': { reason: 'deleted' } },
    );
  }

  #log(id: string, kind: InboxChange['kind']): void {
    this.#seq += 1;
    this.#changes.push({ seq: this.#seq, id, kind });
  }
}
