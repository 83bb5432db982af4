import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMailbox } from '../../src/mailbox/local/local-mailbox.ts';
import type { MailboxDriver } from './mailbox.contract.ts';

/** A local mailbox folder under a new temporary folder, with its driver. */
export async function localMailboxDriver(address = 'support@msp.example'): Promise<MailboxDriver> {
  const dir = mkdtempSync(join(tmpdir(), 'mailbox-contract-'));
  const mailbox = new LocalMailbox(join(dir, 'mailbox'));
  await mailbox.ensureFolders();
  let count = 0;
  return {
    mailbox,
    address,
    async arrive(mime) {
      count += 1;
      const name = `message-${count}.eml`;
      const path = join(mailbox.root, 'inbox', name);
      writeFileSync(path, mime);
      // The folder reads only files left alone for a moment (a copy may be under way): this one was written earlier.
      const past = new Date(Date.now() - 5_000);
      utimesSync(path, past, past);
      const id = (await mailbox.listInbox()).find((entry) => LocalMailbox.fileOf(entry) === name);
      if (!id) throw new Error(`${name} is not listed`);
      return id;
    },
    async sent() {
      const folder = join(mailbox.root, 'sent');
      const names = (await readdir(folder)).filter((entry) => entry.endsWith('.eml')).sort();
      return Promise.all(names.map((entry) => readFile(join(folder, entry))));
    },
    unknownId: 'never-arrived.eml|120|1700000000000',
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
