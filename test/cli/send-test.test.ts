import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { GraphStandIn } from '../graph-stand-in/graph-stand-in.ts';
import { clientState, mailboxName, token } from '../graph/helpers.ts';
import { supportAddress, testEnv } from '../helpers/engine.ts';
import { cliPath, runNode } from '../helpers/run-node.ts';
import { clientSecret, collectingOutput, graphEnv, parseMail, standInOverrides } from './cli-harness.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'send-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startStandIn(): Promise<GraphStandIn> {
  const standIn = await GraphStandIn.start({ token });
  cleanups.push(() => standIn.close());
  return standIn;
}

describe('email-connector send-test on Microsoft Graph', () => {
  it('sends a marked test mail from the support address through sendMail and says Graph accepted it', async () => {
    const dir = tempDir();
    const standIn = await startStandIn();
    const output = collectingOutput();

    const code = await runCli(
      ['send-test', '--to', 'Someone@Example.com'],
      graphEnv(dir, standIn, 'https://127.0.0.1:9'),
      output,
      { graph: standInOverrides(standIn) },
    );

    expect(code, output.text()).toBe(0);
    expect(standIn.sentMail).toHaveLength(1);
    expect(standIn.sentMail[0]!.mailbox).toBe(mailboxName);
    const mail = await parseMail(standIn.sentMail[0]!.mime);
    expect(mail).toMatchObject({
      from: [supportAddress],
      to: ['someone@example.com'],
      subject: 'Email Connector test mail',
    });
    expect(mail.headers['auto-submitted']).toBe('auto-generated');
    expect(mail.headers['x-email-connector']).toBe('test');
    expect(output.lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Graph accepted a test mail to someone@example\\.com from ${supportAddress} \\(sendMail as ${mailboxName}, Message-ID <[^>]+>\\)$`,
        ),
      ),
    ]);
    // Straight to the mailbox: no outbox row, no local folder.
    expect(existsSync(join(dir, 'mailbox'))).toBe(false);
    for (const secret of [clientSecret, clientState, token]) expect(output.text()).not.toContain(secret);
  });

  it('exits 1 with the reason and the permission to grant when Graph answers 403', async () => {
    const standIn = await startStandIn();
    standIn.injectFault({ method: 'POST', path: /\/sendMail$/, status: 403 });

    const failure = runCli(
      ['send-test', '--to', 'someone@example.com'],
      graphEnv(tempDir(), standIn, 'https://127.0.0.1:9'),
      collectingOutput(),
      { graph: standInOverrides(standIn) },
    );

    await expect(failure).rejects.toMatchObject({
      exitCode: 1,
      message: `send-test: Graph sendMail failed: HTTP 403 ErrorAccessDenied: the app may not send as SUPPORT_MAILBOX (${mailboxName}): grant Mail.Send for that mailbox (docs/graph.md, Setup)`,
    });
    // sendMail is never repeated: Graph gives no id to tell whether a first attempt went out.
    expect(standIn.requestsMatching('POST', /\/sendMail$/)).toHaveLength(1);
    expect(standIn.sentMail).toEqual([]);
  });
});

describe('email-connector send-test on the local mailbox folder', () => {
  it('writes the test mail into sent/ and names the file', async () => {
    const dir = tempDir();
    const output = collectingOutput();

    const code = await runCli(['send-test', '--to', 'someone@example.com'], testEnv(dir), output);

    expect(code, output.text()).toBe(0);
    const sentDir = join(dir, 'mailbox', 'sent');
    const files = readdirSync(sentDir);
    expect(files).toEqual([expect.stringMatching(/^send-test-.+\.eml$/)]);
    expect(output.lines).toEqual([
      `wrote a test mail to someone@example.com as ${join(sentDir, files[0]!)} (local mailbox folder: nothing leaves this machine)`,
    ]);
    const mail = await parseMail(readFileSync(join(sentDir, files[0]!)));
    expect(mail).toMatchObject({ from: [supportAddress], to: ['someone@example.com'] });
    expect(mail.headers['x-email-connector']).toBe('test');
    expect(mail.headers['auto-submitted']).toBe('auto-generated');
  });

  it('refuses an invalid address, the support address itself, and a missing --to, sending nothing', async () => {
    const dir = tempDir();
    const env = testEnv(dir);
    const cases: [string[], RegExp][] = [
      [['--to', 'not an address'], /^send-test: --to "not an address" is not an email address/],
      [['--to', 'a@b.example, c@d.example'], /is not an email address/],
      [['--to', supportAddress.toUpperCase()], /is the support mailbox itself; name another address$/],
      [[], /^usage: email-connector send-test --to ADDRESS$/],
    ];
    for (const [args, message] of cases) {
      await expect(runCli(['send-test', ...args], env, collectingOutput())).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringMatching(message),
      });
    }
    expect(existsSync(join(dir, 'mailbox', 'sent'))).toBe(false);
  });

  it('as a program, prints one line without a stack and exits 2 for an invalid address', async () => {
    const dir = tempDir();

    const result = await runNode(cliPath, ['send-test', '--to', 'nobody'], { cwd: dir, env: testEnv(dir) });

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'email-connector: send-test: --to "nobody" is not an email address (e.g. --to someone@example.com)\n',
    );
  });
});
