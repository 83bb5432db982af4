import { mkdir, readFile, readdir, rename, stat, writeFile, access } from 'node:fs/promises';
import { join, basename, extname } from 'node:path';
import type { Mailbox, SendMailOptions, SettledFolder } from '../mailbox.ts';
import { MailboxError } from '../mailbox-error.ts';

const folders = ['inbox', 'processed', 'failed', 'sent'] as const;

/** How long a file must be unchanged before it is read (a copy into the folder may be under way). */
const settleTimeMs = 200;

/**
 * A folder standing in for the support mailbox: `inbox/*.eml` is the mail that arrived, `processed/`
 * and `failed/` hold it afterwards, `sent/` receives what the connector sends.
 *
 * A message's id is its file name plus size and modification time, so that a new file dropped under
 * an old name is a new message, and the same file seen twice is the same one.
 */
export class LocalMailbox implements Mailbox {
  readonly name = 'local';
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  get root(): string {
    return this.#root;
  }

  async ensureFolders(): Promise<void> {
    for (const folder of folders) await mkdir(join(this.#root, folder), { recursive: true });
  }

  /** The file name inside a mailbox id (`name|size|mtime`; the name itself may contain `|`). */
  static fileOf(mailboxId: string): string {
    return mailboxId.replace(/\|\d+\|\d+$/, '');
  }

  async listInbox(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(join(this.#root, 'inbox'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new MailboxError('transient', `cannot read ${join(this.#root, 'inbox')}`, { cause: error });
    }
    const ids: string[] = [];
    for (const name of names.filter((entry) => extname(entry).toLowerCase() === '.eml').sort()) {
      try {
        const info = await stat(join(this.#root, 'inbox', name));
        // A file changed a moment ago may still be being written: the next scan takes it.
        if (info.isFile() && Date.now() - info.mtimeMs >= settleTimeMs) {
          ids.push(`${name}|${info.size}|${Math.trunc(info.mtimeMs)}`);
        }
      } catch {
        // Moved away between readdir and stat: the next scan tells.
      }
    }
    return ids;
  }

  /** Where the message is now: the inbox, or `failed/` when it is being reprocessed. */
  async #locate(mailboxId: string): Promise<string | null> {
    const name = basename(LocalMailbox.fileOf(mailboxId));
    for (const folder of ['inbox', 'failed']) {
      const path = join(this.#root, folder, name);
      if (await exists(path)) return path;
    }
    return null;
  }

  async fetchRaw(mailboxId: string): Promise<Buffer> {
    const path = await this.#locate(mailboxId);
    if (!path)
      throw new MailboxError('not-found', `no file ${LocalMailbox.fileOf(mailboxId)} in inbox/ or failed/`);
    try {
      return await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MailboxError('not-found', `no file ${path}`, { cause: error });
      }
      throw new MailboxError('transient', `cannot read ${path}`, { cause: error });
    }
  }

  async send(mime: Buffer, options: SendMailOptions): Promise<void> {
    const path = join(this.#root, 'sent', `${options.outboxId}.eml`);
    try {
      await mkdir(join(this.#root, 'sent'), { recursive: true });
      // 'wx': the same outbox mail is written once, even when sending is retried.
      await writeFile(path, mime, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw new MailboxError('transient', `cannot write ${path}`, { cause: error });
    }
  }

  async settle(mailboxId: string, folder: SettledFolder): Promise<void> {
    const name = basename(LocalMailbox.fileOf(mailboxId));
    const from = await this.#locate(mailboxId);
    if (!from || from === join(this.#root, folder, name)) return; // already there
    await mkdir(join(this.#root, folder), { recursive: true });
    let target = join(this.#root, folder, name);
    for (let n = 1; await exists(target); n += 1) {
      target = join(this.#root, folder, `${basename(name, extname(name))}.${n}${extname(name)}`);
    }
    try {
      await rename(from, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new MailboxError('transient', `cannot move ${from} to ${folder}/`, { cause: error });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
