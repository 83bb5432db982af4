import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalMailbox } from '../../src/mailbox/local/local-mailbox.ts';
import { MailboxError } from '../../src/mailbox/mailbox-error.ts';

describe('local mailbox folder', () => {
  let mailbox: LocalMailbox;
  const inbox = (): string => join(mailbox.root, 'inbox');
  const finished = (name: string, text: string): void => {
    const path = join(inbox(), name);
    writeFileSync(path, text);
    const past = new Date(Date.now() - 5000);
    utimesSync(path, past, past);
  };

  beforeEach(async () => {
    mailbox = new LocalMailbox(join(mkdtempSync(join(tmpdir(), 'mailbox-')), 'mailbox'));
    await mailbox.ensureFolders();
  });

  it('lists only finished .eml files, and a file written again as a new message', async () => {
    finished('a.eml', 'first');
    finished('notes.txt', 'not mail');
    writeFileSync(join(inbox(), 'being-copied.eml'), 'partial');
    const ids = await mailbox.listInbox();
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^a\.eml\|5\|\d+$/);
    finished('a.eml', 'second version');
    const again = await mailbox.listInbox();
    expect(again[0]).not.toBe(ids[0]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await mailbox.listInbox()).map(LocalMailbox.fileOf)).toEqual(['a.eml', 'being-copied.eml']);
  });

  it('moves a message once, keeps both when names collide, and tolerates a second move', async () => {
    finished('x.eml', 'one');
    const [first] = await mailbox.listInbox();
    await mailbox.settle(first!, 'processed');
    await mailbox.settle(first!, 'processed');
    finished('x.eml', 'two');
    const [second] = await mailbox.listInbox();
    await mailbox.settle(second!, 'processed');
    expect(readdirSync(join(mailbox.root, 'processed')).sort()).toEqual(['x.1.eml', 'x.eml']);
    expect(readdirSync(inbox())).toEqual([]);
  });

  it('reads a quarantined message back from failed/ for reprocessing, and moves it from there', async () => {
    finished('q.eml', 'stuck');
    const [id] = await mailbox.listInbox();
    await mailbox.settle(id!, 'failed');
    expect((await mailbox.fetchRaw(id!)).toString()).toBe('stuck');
    await mailbox.settle(id!, 'processed');
    expect(existsSync(join(mailbox.root, 'processed', 'q.eml'))).toBe(true);
    expect(readdirSync(join(mailbox.root, 'failed'))).toEqual([]);
  });

  it('reports a vanished message as not-found, which is not worth retrying', async () => {
    finished('gone.eml', 'x');
    const [id] = await mailbox.listInbox();
    renameSync(join(inbox(), 'gone.eml'), join(mkdtempSync(join(tmpdir(), 'elsewhere-')), 'gone.eml'));
    const error = await mailbox.fetchRaw(id!).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MailboxError);
    expect(error).toMatchObject({ kind: 'not-found', retryable: false });
  });

  it('handles file names with spaces and the separator character', async () => {
    finished('a | b c.eml', 'odd name');
    const [id] = await mailbox.listInbox();
    expect(LocalMailbox.fileOf(id!)).toBe('a | b c.eml');
    expect((await mailbox.fetchRaw(id!)).toString()).toBe('odd name');
    await mailbox.settle(id!, 'processed');
    expect(readdirSync(join(mailbox.root, 'processed'))).toEqual(['a | b c.eml']);
  });

  it('writes each outbox mail to sent/ once, however often sending is retried', async () => {
    await mailbox.send(Buffer.from('mime'), { outboxId: 'mail-1' });
    await mailbox.send(Buffer.from('mime again'), { outboxId: 'mail-1' });
    expect(readdirSync(join(mailbox.root, 'sent'))).toEqual(['mail-1.eml']);
  });

  it('writes a mail again when a crashed attempt left an empty or partial file', async () => {
    const sent = join(mailbox.root, 'sent');
    writeFileSync(join(sent, 'mail-1.eml'), '');
    await mailbox.send(Buffer.from('Subject: one\r\n\r\nbody'), { outboxId: 'mail-1' });
    expect(readFileSync(join(sent, 'mail-1.eml'), 'utf8')).toBe('Subject: one\r\n\r\nbody');

    writeFileSync(join(sent, '.mail-2.eml.partial'), 'Subject: tw');
    await mailbox.send(Buffer.from('Subject: two\r\n\r\nbody'), { outboxId: 'mail-2' });
    expect(readFileSync(join(sent, 'mail-2.eml'), 'utf8')).toBe('Subject: two\r\n\r\nbody');
    expect(readdirSync(sent).sort()).toEqual(['mail-1.eml', 'mail-2.eml']);

    // A complete mail is not written twice.
    await mailbox.send(Buffer.from('Subject: other'), { outboxId: 'mail-2' });
    expect(readFileSync(join(sent, 'mail-2.eml'), 'utf8')).toBe('Subject: two\r\n\r\nbody');
  });

  it('writes a mail given in pieces under a temporary name, so that a read failing part-way sends nothing', async () => {
    const sent = join(mailbox.root, 'sent');
    let fail = true;
    const original = {
      length: 8,
      async *read(): AsyncGenerator<Buffer> {
        yield Buffer.from('orig');
        if (fail) throw new Error('the store went away');
        yield Buffer.from('inal');
      },
    };
    const pieces = [Buffer.from('Subject: fwd\r\n\r\n'), original, Buffer.from('\r\n')];
    const error = await mailbox.send(pieces, { outboxId: 'mail-4' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MailboxError);
    expect(error).toMatchObject({ kind: 'transient' });
    expect(existsSync(join(sent, 'mail-4.eml'))).toBe(false);

    fail = false;
    await mailbox.send(pieces, { outboxId: 'mail-4' });
    expect(readFileSync(join(sent, 'mail-4.eml'), 'utf8')).toBe('Subject: fwd\r\n\r\noriginal\r\n');
    expect(readdirSync(sent)).toEqual(['mail-4.eml']);
  });

  it('refuses to send when sent/ is a file, instead of reporting success', async () => {
    const root = join(mkdtempSync(join(tmpdir(), 'mailbox-')), 'mailbox');
    const broken = new LocalMailbox(root);
    await broken.ensureFolders();
    rmSync(join(root, 'sent'), { recursive: true });
    writeFileSync(join(root, 'sent'), 'not a folder');
    const error = await broken
      .send(Buffer.from('Subject: x'), { outboxId: 'mail-3' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailboxError);
    expect((error as MailboxError).message).toMatch(/sent is not a folder/);
    await expect(broken.ensureFolders()).rejects.toThrow(/not a folder/);
  });
});
