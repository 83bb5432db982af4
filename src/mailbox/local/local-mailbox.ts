import { mkdir, readFile, readdir, rename, stat, writeFile, access } from 'node:fs/promises';
import { constants, statSync } from 'node:fs';
import { join, basename, dirname, extname } from 'node:path';
import type { Mailbox, SendMailOptions, SettledFolder } from '../mailbox.ts';
import { mailBytes, type MailPieces } from '../mail-pieces.ts';
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

  /** Creates the four folders and checks that each is writable; a failure names the folder and the fix. */
  async ensureFolders(): Promise<void> {
    for (const folder of folders) {
      const path = join(this.#root, folder);
      try {
        await mkdir(path, { recursive: true });
      } catch (error) {
        throw new MailboxError('permanent', folderProblem(path, 'create', error), { cause: error });
      }
      try {
        // mkdir accepts a folder that exists however it is protected; files are written and moved in each one.
        await access(path, constants.W_OK);
      } catch (error) {
        throw new MailboxError('permanent', folderProblem(path, 'write to', error), { cause: error });
      }
    }
  }

  /** The folder's path, created when missing; a file in its place is an error, not a folder. */
  async #folder(folder: (typeof folders)[number]): Promise<string> {
    const path = join(this.#root, folder);
    try {
      await mkdir(path, { recursive: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        throw new MailboxError('transient', `${path} is not a folder (move the file away)`, { cause: error });
      }
      throw new MailboxError('transient', `cannot create ${path}`, { cause: error });
    }
    return path;
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

  /**
   * Writes the mail under a temporary name, then renames it: `sent/<outbox id>.eml` exists only complete, so a
   * mail found there was sent, and a partial file a crash left behind is simply written again. The pieces are
   * written one after the other, never joined in memory (a deferred piece as it reads them).
   */
  async send(mail: MailPieces, options: SendMailOptions): Promise<void> {
    const folder = await this.#folder('sent');
    const path = join(folder, `${options.outboxId}.eml`);
    // Sent before (a retry after a crash between writing and marking it sent); an empty file is a write that a
    // crash cut short, not a sent mail.
    if ((await sizeOf(path)) > 0) return;
    const partial = join(folder, `.${options.outboxId}.eml.partial`);
    try {
      await writeFile(partial, mailBytes(mail));
      await rename(partial, path);
    } catch (error) {
      throw new MailboxError('transient', `cannot write ${path}`, { cause: error });
    }
  }

  async settle(mailboxId: string, folder: SettledFolder): Promise<void> {
    const name = basename(LocalMailbox.fileOf(mailboxId));
    const from = await this.#locate(mailboxId);
    if (!from || from === join(this.#root, folder, name)) return; // already there
    await this.#folder(folder);
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

/** The size of a file, or 0 when there is none. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
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

/** What went wrong with a mailbox folder at start, and what the operator can do about it. */
function folderProblem(path: string, doing: 'create' | 'write to', error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EACCES':
    case 'EPERM': {
      // mkdir names the first folder it could not create; the fix is in the folder that should hold it.
      const failed = doing === 'create' ? ((error as NodeJS.ErrnoException).path ?? path) : path;
      const fix = doing === 'create' ? dirname(failed) : 'it';
      return `cannot ${doing} ${failed} (permission denied); give the service write access to ${fix}, or choose another folder`;
    }
    case 'EROFS':
      return `cannot ${doing} ${path}: the file system is read-only; choose a folder on a writable one`;
    case 'EEXIST':
    case 'ENOTDIR':
      return `${fileInTheWay(path)} is not a folder: a file is in the way; move it away, or choose another folder`;
    default:
      return `cannot ${doing} ${path}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The file that stands where `path` or one of the folders above it should be (mkdir names only the path). */
function fileInTheWay(path: string): string {
  for (let at = path; at !== dirname(at); at = dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) return at;
    } catch {
      // Not there: look further up.
    }
  }
  return path;
}
