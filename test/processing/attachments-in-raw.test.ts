import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { attachmentContent, parseEmail } from '../../src/processing/parse-email.ts';
import { readFiledAttachment } from '../../src/processing/filed-attachments.ts';
import { collectingOutput } from '../cli/cli-harness.ts';
import { openEngine, testEnv, type Engine } from '../helpers/engine.ts';

/** The attachments of the test message, each with the bytes a reader of the filed mail must get back. */
const files = [
  { filename: 'scan.pdf', contentType: 'application/pdf', content: randomBytes(300_000) },
  {
    filename: 'notes.txt',
    contentType: 'text/plain; charset=utf-8',
    content: Buffer.from('Grüße\r\n'.repeat(500)),
  },
  {
    filename: 'logo.png',
    contentType: 'image/png',
    content: randomBytes(2_000),
    cid: 'logo@acme.example',
  },
  {
    filename: 'export.xml',
    contentType: 'application/xml',
    content: Buffer.from('<?xml version="1.0"?><a/>'),
  },
];

async function message(): Promise<Buffer> {
  return new MailComposer({
    from: 'bob.stone@gmail.example',
    to: 'support@msp.example',
    subject: 'Scans attached',
    messageId: '<attachments-in-raw@gmail.example>',
    text: 'See the files.',
    html: '<p>See the files. <img src="cid:logo@acme.example"></p>',
    attachments: files.map((file) => ({
      filename: file.filename,
      contentType: file.contentType,
      content: file.content,
      ...(file.cid ? { cid: file.cid } : {}),
      // The text file as quoted-printable, the rest in base64.
      ...(file.filename === 'notes.txt' ? { contentTransferEncoding: 'quoted-printable' as const } : {}),
    })),
  })
    .compile()
    .build();
}

let engine: Engine | null = null;
afterEach(async () => {
  await engine?.close();
  engine = null;
});

describe('attachments stored once, in the raw message', () => {
  it('reads every attachment’s size but holds only the XML files the rules read', async () => {
    const raw = await message();
    const email = await parseEmail(raw);
    const byName = new Map(email.attachments.map((attachment) => [attachment.filename, attachment]));
    for (const file of files) {
      const attachment = byName.get(file.filename)!;
      expect(attachment, file.filename).toBeDefined();
      expect(attachment.size, file.filename).toBe(file.content.length);
      if (file.filename.endsWith('.xml')) expect(attachment.content?.equals(file.content)).toBe(true);
      else expect(attachment.content, file.filename).toBeNull();
      // And every byte is found again in the raw message by its position.
      expect((await attachmentContent(raw, attachment.position))?.equals(file.content), file.filename).toBe(
        true,
      );
    }
    expect(await attachmentContent(raw, files.length)).toBeNull();
  });

  it('files a mail without a second copy of its attachments, and gives each back byte for byte, also through the CLI', async () => {
    engine = await openEngine();
    const { outcome } = await engine.process(await message());
    expect(outcome.action).toBe('ticket-created');
    const [document] = await engine.documents(outcome.ticketNumber!);
    expect(document!.attachments.map((attachment) => attachment.filename).sort()).toEqual(
      files.map((file) => file.filename).sort(),
    );
    for (const [index, attachment] of document!.attachments.entries()) {
      const expected = files.find((file) => file.filename === attachment.filename)!.content;
      expect(attachment.position, attachment.filename).not.toBeNull();
      expect((await readFiledAttachment(engine.store, document!, index))?.equals(expected)).toBe(true);
    }
    // Nothing but the raw message holds the bytes.
    const db = new Database(join(engine.dir, 'crm.sqlite'), { readonly: true });
    const parts = db
      .prepare("SELECT count(*) AS n FROM blob_parts WHERE owner LIKE 'attachment:%'")
      .get() as {
      n: number;
    };
    db.close();
    expect(parts.n).toBe(0);

    const pdf = document!.attachments.findIndex((attachment) => attachment.filename === 'scan.pdf');
    const out = join(engine.dir, 'saved.pdf');
    const output = collectingOutput();
    const code = await runCli(
      ['attachment', outcome.ticketNumber!, '1', String(pdf + 1), '--out', out],
      testEnv(engine.dir),
      output,
    );
    expect(code, output.text()).toBe(0);
    expect(output.text()).toContain('saved scan.pdf (300000 bytes');
    expect(readFileSync(out).equals(files[0]!.content)).toBe(true);
    await expect(
      runCli(
        ['attachment', outcome.ticketNumber!, '1', '9', '--out', out],
        testEnv(engine.dir),
        collectingOutput(),
      ),
    ).rejects.toThrow(`attachment 9 does not exist: ticket ${outcome.ticketNumber} has ${files.length}`);
    await expect(
      runCli(['attachment', outcome.ticketNumber!, '1'], testEnv(engine.dir), collectingOutput()),
    ).rejects.toMatchObject({ exitCode: 2 });
  });

  it('still gives back an attachment filed before, whose bytes were stored with its row', async () => {
    engine = await openEngine();
    const { outcome } = await engine.process(await message());
    const [document] = await engine.documents(outcome.ticketNumber!);
    // As schema 5 to 9 filed it: no position, the bytes in parts of their own.
    const legacy = Buffer.from('bytes filed by an earlier version');
    const db = new Database(join(engine.dir, 'crm.sqlite'));
    const row = db
      .prepare('SELECT id FROM attachments WHERE document_id = ? ORDER BY id LIMIT 1')
      .get(document!.id) as {
      id: number;
    };
    db.prepare('UPDATE attachments SET mime_position = NULL WHERE id = ?').run(row.id);
    db.prepare('INSERT INTO blob_parts (owner, part, data) VALUES (?, 0, ?)').run(
      `attachment:${row.id}`,
      legacy,
    );
    db.close();
    const [reread] = await engine.documents(outcome.ticketNumber!);
    expect(reread!.attachments[0]!.position).toBeNull();
    expect((await readFiledAttachment(engine.store, reread!, 0))?.equals(legacy)).toBe(true);
  });
});
