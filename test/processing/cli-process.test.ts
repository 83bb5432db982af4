import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli.ts';
import type { Output } from '../../src/cli/output.ts';
import { internalSupport, readSentMail, testEnv } from '../helpers/engine.ts';
import { fixturePath } from '../helpers/fixtures.ts';

/** An Output that keeps what the CLI prints. */
function collectingOutput(): Output & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (line) => lines.push(line), err: (line) => errors.push(line) };
}

let dir: string;
let env: Record<string, string>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'email-connector-cli-'));
  env = testEnv(dir);
  const output = collectingOutput();
  expect(await runCli(['crm', 'import', fixturePath('crm.json')], env, output)).toBe(0);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('email-connector process --json FILE.eml...', () => {
  it('prints one JSON line per message with the documented fields, and leaves the files where they are', async () => {
    const files = [
      fixturePath('new-from-contact-with-attachment.eml'),
      fixturePath('reply-customer.eml'),
      fixturePath('out-of-office-exchange.eml'),
    ];
    const output = collectingOutput();

    const code = await runCli(['process', '--json', ...files], env, output);

    expect(code).toBe(0);
    expect(output.lines).toHaveLength(3);
    const lines = output.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining([
          'file',
          'messageId',
          'action',
          'reason',
          'ticketNumber',
          'accountId',
          'forwardedTo',
          'sent',
        ]),
      );
    }
    const [created, reply, outOfOffice] = lines;
    expect(created).toMatchObject({
      file: files[0],
      messageId: 'CAK7x0nE3f9Qp2-Lw4vGz8bd1R@mail.gmail.example',
      action: 'ticket-created',
      accountId: 'ACME',
      forwardedTo: [],
    });
    const ticketNumber = created!.ticketNumber as string;
    expect(ticketNumber).toMatch(/^\d{7}$/);
    expect(created!.sent).toEqual([
      {
        to: ['bob.stone@gmail.example'],
        subject: `[Ticket#${ticketNumber}] Error when opening the accounts spreadsheet`,
      },
    ]);
    expect(reply).toMatchObject({
      file: files[1],
      action: 'filed',
      ticketNumber: '0000042',
      accountId: 'ACME',
      forwardedTo: [internalSupport],
      sent: [],
    });
    expect(outOfOffice).toMatchObject({ action: 'ignored', ticketNumber: null, forwardedTo: [], sent: [] });
    expect(typeof outOfOffice!.reason).toBe('string');

    // The same pipeline: the mails were really sent to the local mailbox's sent/ folder.
    const sent = await readSentMail(join(dir, 'mailbox'));
    expect(sent.map((mail) => mail.kind).sort()).toEqual(['ack', 'forward']);
    for (const file of files) expect(existsSync(file)).toBe(true);
  });

  it('reports an already processed file as such, without a second ticket', async () => {
    const file = fixturePath('new-from-contact-with-attachment.eml');
    const first = collectingOutput();
    await runCli(['process', '--json', file], env, first);
    const second = collectingOutput();

    await runCli(['process', '--json', file], env, second);

    const [before, after] = [first.lines[0]!, second.lines[0]!].map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    expect(after).toMatchObject({
      action: 'ticket-created',
      ticketNumber: before!.ticketNumber,
      duplicate: true,
    });
    expect(await readSentMail(join(dir, 'mailbox'))).toHaveLength(1);
  });

  it('exits 1 when a file cannot be read, still printing a line for each file it processed', async () => {
    const output = collectingOutput();

    const code = await runCli(
      ['process', '--json', fixturePath('garbage.eml'), join(dir, 'missing.eml')],
      env,
      output,
    );

    expect(code).toBe(1);
    expect(output.lines.map((line) => (JSON.parse(line) as { action: string }).action)).toEqual([
      'forwarded',
    ]);
    expect(output.errors.join('\n')).toContain('missing.eml: cannot read');
  });
});

describe('email-connector outcomes and quarantine list', () => {
  it('lists recorded outcomes newest first, filtered by action, as a table or JSON lines', async () => {
    const files = [
      fixturePath('new-from-contact-with-attachment.eml'),
      fixturePath('out-of-office-exchange.eml'),
    ];
    expect(await runCli(['process', ...files], env, collectingOutput())).toBe(0);

    const table = collectingOutput();
    expect(await runCli(['outcomes'], env, table)).toBe(0);
    expect(table.lines[0]).toMatch(/^when\s+action\s+ticket\s+from\s+subject\s+reason$/);
    expect(table.lines.slice(2).map((line) => line.split(/\s{2,}/)[1])).toEqual([
      'ignored',
      'ticket-created',
    ]);

    const json = collectingOutput();
    expect(await runCli(['outcomes', '--json', '--action', 'ticket-created'], env, json)).toBe(0);
    expect(json.lines.map((line) => (JSON.parse(line) as { action: string }).action)).toEqual([
      'ticket-created',
    ]);

    const bad = collectingOutput();
    expect(
      await runCli(['outcomes', '--action', 'exploded'], env, bad).catch((error: Error) => error.message),
    ).toMatch(/--action must be one of ticket-created, filed, forwarded, ignored, failed, api/);
  });

  it('says when the quarantine is empty', async () => {
    const output = collectingOutput();
    expect(await runCli(['quarantine', 'list'], env, output)).toBe(0);
    expect(output.lines).toEqual(['quarantine is empty']);
    expect(
      await runCli(['reprocess', '--all'], env, collectingOutput()).catch((error: Error) => error.message),
    ).toBe('quarantine is empty');
  });
});
