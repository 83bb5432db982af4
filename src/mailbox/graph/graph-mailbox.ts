import type { Mailbox, MessageOrigin, SendMailOptions, SettledFolder } from '../mailbox.ts';
import { base64Chunks, base64Length, mailLength, type MailPieces } from '../mail-pieces.ts';
import { GraphRequestError } from './graph-error.ts';
import { segment, type GraphApi } from './graph-api.ts';

export interface GraphMailboxOptions {
  api: GraphApi;
  /** The support mailbox: UPN or object id. */
  mailbox: string;
  /** Display names of the final folders (top level of the mailbox); default `Processed` and `Failed`. */
  folderNames?: Readonly<Record<SettledFolder, string>>;
}

/**
 * The base64 text of a mail as a byte stream that encodes (and reads, for a deferred piece) each chunk only when
 * the request asks for it.
 */
function base64Stream(mail: MailPieces): ReadableStream<Uint8Array> {
  const chunks = base64Chunks(mail);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

interface Page<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

const inboxMessages = "mailFolders('Inbox')/messages";

/** The support mailbox in Exchange Online, through Microsoft Graph. */
export class GraphMailbox implements Mailbox {
  readonly name = 'graph';
  readonly #api: GraphApi;
  readonly #user: string;
  readonly #origin: MessageOrigin;
  readonly #folderNames: Readonly<Record<SettledFolder, string>>;
  /** Folder ids, looked up or created once per process; a failed look-up is forgotten so it is tried again. */
  readonly #folderIds = new Map<SettledFolder, Promise<string>>();

  constructor(options: GraphMailboxOptions) {
    this.#api = options.api;
    this.#user = `/users/${segment(options.mailbox)}`;
    this.#origin = { mailbox: options.mailbox, supportAddress: null };
    this.#folderNames = options.folderNames ?? { processed: 'Processed', failed: 'Failed' };
  }

  async fetchRaw(mailboxId: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
    return this.#api.call<Buffer>({
      method: 'GET',
      path: `${this.#user}/messages/${segment(mailboxId)}/$value`,
      what: 'fetch message',
      responseType: 'bytes',
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Sends exactly one request and never retries it: Graph answers 202 without an id, so after a timeout or a 503 we
   * cannot know whether the mail went out. The outbox decides whether to try again (at most one duplicate).
   * While Graph throttles the mailbox the request waits for the gate in GraphApi, or fails as throttled unsent.
   *
   * The body, the MIME in base64, is encoded while it is sent, 64 KiB at a time, from the pieces as given (a
   * deferred piece read as it goes, afresh for each attempt): a 35 MB forward is never held as one buffer or as a
   * 47 MB string.
   */
  async send(mail: MailPieces, options: SendMailOptions): Promise<void> {
    await this.#api.call({
      method: 'POST',
      path: `${this.#user}/sendMail`,
      what: 'sendMail',
      stream: { length: base64Length(mailLength(mail)), open: () => base64Stream(mail) },
      contentType: 'text/plain',
      retries: 0,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async settle(mailboxId: string, folder: SettledFolder): Promise<void> {
    const destinationId = await this.#folderId(folder);
    try {
      await this.#api.call({
        method: 'POST',
        path: `${this.#user}/messages/${segment(mailboxId)}/move`,
        what: `move to ${this.#folderNames[folder]}`,
        body: { destinationId },
        // A move is safe to repeat (a moved message answers 404, handled below), and nobody retries a failed settle.
        retries: 4,
      });
    } catch (error) {
      // Already moved (or deleted by a person): the goal, out of the inbox, is reached.
      if (error instanceof GraphRequestError && error.kind === 'not-found') return;
      throw error;
    }
  }

  origin(): MessageOrigin {
    return { ...this.#origin };
  }

  async listInbox(): Promise<string[]> {
    const ids: string[] = [];
    let path: string | undefined = `${this.#user}/${inboxMessages}?$select=id&$top=100`;
    while (path) {
      const page: Page<{ id: string }> = await this.#api.call({
        method: 'GET',
        path,
        what: 'list inbox',
        retries: 3,
      });
      for (const message of page.value) ids.push(message.id);
      path = page['@odata.nextLink'];
    }
    return ids;
  }

  #folderId(folder: SettledFolder): Promise<string> {
    let id = this.#folderIds.get(folder);
    if (!id) {
      id = this.#findOrCreateFolder(this.#folderNames[folder]);
      id.catch(() => this.#folderIds.delete(folder));
      this.#folderIds.set(folder, id);
    }
    return id;
  }

  async #findOrCreateFolder(displayName: string): Promise<string> {
    const existing = await this.#findFolder(displayName);
    if (existing) return existing;
    try {
      const created = await this.#api.call<{ id: string }>({
        method: 'POST',
        path: `${this.#user}/mailFolders`,
        what: `create folder ${displayName}`,
        body: { displayName },
        // Safe to repeat: a create that went through before its answer was lost answers 409, handled below.
        retries: 3,
      });
      return created.id;
    } catch (error) {
      // Another instance created it between our look-up and our create.
      if (error instanceof GraphRequestError && error.status === 409) {
        const found = await this.#findFolder(displayName);
        if (found) return found;
      }
      throw error;
    }
  }

  async #findFolder(displayName: string): Promise<string | null> {
    const filter = `displayName eq '${displayName.replace(/'/g, "''")}'`;
    const page = await this.#api.call<Page<{ id: string; displayName: string }>>({
      method: 'GET',
      path: `${this.#user}/mailFolders?$filter=${encodeURIComponent(filter)}&$select=id,displayName`,
      what: `find folder ${displayName}`,
      retries: 3,
    });
    return (
      page.value.find((entry) => entry.displayName.toLowerCase() === displayName.toLowerCase())?.id ?? null
    );
  }
}
