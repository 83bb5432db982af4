import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import { fail, ok, type Report } from './check.ts';
import { creatableUnder, isWritable, statOrNull } from './writable.ts';

export const mailboxFolderCheck = 'mailbox folder';

/** The folders LocalMailbox keeps under MAILBOX_DIR. */
const folders = ['inbox', 'processed', 'failed', 'sent'] as const;

/** With the local folder: each of its folders is a writable folder, or can be created (the service creates it). */
export function checkMailboxFolder(config: Config, report: Report): void {
  const root = config.MAILBOX_DIR;
  const present: string[] = [];
  const missing: string[] = [];
  for (const folder of folders) {
    const path = join(root, folder);
    const stats = statOrNull(path);
    if (!stats) {
      missing.push(folder);
    } else if (!stats.isDirectory()) {
      report(fail(mailboxFolderCheck, `${path} is a file, not a folder`, 'move the file away'));
      return;
    } else if (!isWritable(path)) {
      report(fail(mailboxFolderCheck, `${path} is not writable`, 'give the service write access to it'));
      return;
    } else {
      present.push(folder);
    }
  }
  if (missing.length > 0) {
    const where = creatableUnder(join(root, missing[0]!));
    if (!where.ok) {
      report(
        fail(
          mailboxFolderCheck,
          `${missing.join(', ')} under ${root} cannot be created (${where.folder} is not a writable folder)`,
          'create them or give the service write access there, or set MAILBOX_DIR',
        ),
      );
      return;
    }
  }
  const parts = [
    ...(present.length > 0 ? [`${present.join(', ')} present`] : []),
    ...(missing.length > 0 ? [`${missing.join(', ')} created at start`] : []),
  ];
  report(ok(mailboxFolderCheck, `${root}: ${parts.join('; ')}`));
}
