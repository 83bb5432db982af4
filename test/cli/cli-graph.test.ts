import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { runCli, type CliOptions } from '../../src/cli.ts';
import { CliError } from '../../src/cli/output.ts';
import { GraphStandIn } from '../graph-stand-in/graph-stand-in.ts';
import { customerMail, startGraphApp, type GraphApp } from '../graph/graph-app.ts';
import { clientState, mailboxName, token } from '../graph/helpers.ts';
import { internalSupport, readSentMail, testEnv } from '../helpers/engine.ts';
import { fixturePath } from '../helpers/fixtures.ts';
import { freePort, waitFor } from '../helpers/run-node.ts';
import {
  collectingOutput,
  envOfApp,
  graphEnv,
  parseMail,
  standInOverrides,
  type ParsedMail,
} from './cli-harness.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-graph-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function standIn(): Promise<GraphStandIn> {
  const started = await GraphStandIn.start({ token });
  cleanups.push(() => started.close());
  return started;
}

/** One way of configuring the mailbox, and how to see what the CLI sent through it. */
interface Deployment {
  env: Record<string, string>;
  options: CliOptions;
  mailboxDir: string;
  sent(): Promise<ParsedMail[]>;
  /** Requests the deployment made to Graph (none on the local folder). */
  graphRequests(): number;
}

const deployments: { name: string; start(): Promise<Deployment> }[] = [
  {
    name: 'the local mailbox folder',
    async start() {
      const dir = tempDir();
      const mailboxDir = join(dir, 'mailbox');
      return {
        env: testEnv(dir),
        options: {},
        mailboxDir,
        sent: async () => Promise.all((await readSentMail(mailboxDir)).map((mail) => parseMail(mail.raw))),
        graphRequests: () => 0,
      };
    },
  },
  {
    name: 'Microsoft Graph (SUPPORT_MAILBOX set)',
    async start() {
      const dir = tempDir();
      const graph = await standIn();
      return {
        env: graphEnv(dir, graph, 'https://127.0.0.1:9'),
        options: { graph: standInOverrides(graph) },
        mailboxDir: join(dir, 'mailbox'),
        sent: () => Promise.all(graph.sentMail.map((mail) => parseMail(mail.mime))),
        graphRequests: () => graph.requests.length,
      };
    },
  },
];

describe.each(deployments)('email-connector commands on $name', ({ name, start }) => {
  const graph = name.startsWith('Microsoft Graph');

  it('process sends the acknowledgment and the forward through the configured mailbox', async () => {
    const d = await start();
    expect(
      await runCli(['crm', 'import', fixturePath('crm.json')], d.env, collectingOutput(), d.options),
    ).toBe(0);
    const output = collectingOutput();

    const code = await runCli(
      [
        'process',
        '--json',
        fixturePath('new-from-contact-with-attachment.eml'),
        fixturePath('reply-customer.eml'),
      ],
      d.env,
      output,
      d.options,
    );

    expect(code, output.text()).toBe(0);
    const [created, reply] = output.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(created).toMatchObject({ action: 'ticket-created', accountId: 'ACME' });
    expect(reply).toMatchObject({ action: 'filed', ticketNumber: '0000042', forwardedTo: [internalSupport] });
    const sent = await d.sent();
    expect(sent.map((mail) => [mail.headers['x-email-connector'], mail.to]).sort()).toEqual([
      ['ack', ['bob.stone@gmail.example']],
      ['forward', [internalSupport]],
    ]);
    if (graph) {
      // Nothing went to a local folder pretending to be the mailbox.
      expect(existsSync(d.mailboxDir)).toBe(false);
      expect(d.graphRequests()).toBeGreaterThan(0);
    }
  });

  it('attachment saves a filed attachment from the database, without calling the mailbox', async () => {
    const d = await start();
    await runCli(['crm', 'import', fixturePath('crm.json')], d.env, collectingOutput(), d.options);
    const processed = collectingOutput();
    await runCli(
      ['process', '--json', fixturePath('new-from-contact-with-attachment.eml')],
      d.env,
      processed,
      d.options,
    );
    const { ticketNumber } = JSON.parse(processed.lines[0]!) as { ticketNumber: string };
    const requests = d.graphRequests();
    const out = join(tempDir(), 'report.pdf');
    const output = collectingOutput();

    const code = await runCli(['attachment', ticketNumber, '1', '1', '--out', out], d.env, output, d.options);

    expect(code, output.text()).toBe(0);
    expect(output.text()).toContain('saved error-report.pdf (142 bytes, application/pdf)');
    const original = await simpleParser(readFileSync(fixturePath('new-from-contact-with-attachment.eml')));
    expect(readFileSync(out).equals(original.attachments[0]!.content)).toBe(true);
    expect(d.graphRequests()).toBe(requests);
  });

  it('crm import, ticket, outcomes and quarantine list work without calling the mailbox', async () => {
    const d = await start();
    const run = async (...argv: string[]) => {
      const output = collectingOutput();
      expect(await runCli(argv, d.env, output, d.options), output.text()).toBe(0);
      return output;
    };

    expect((await run('crm', 'import', fixturePath('crm.json'))).lines[0]).toMatch(/imported .*accounts/);
    expect((await run('ticket', '0000042')).lines[0]).toMatch(/^Ticket 0000042/);
    expect((await run('outcomes')).lines[0]).toMatch(/^when\s+action/);
    expect((await run('quarantine', 'list')).lines).toEqual(['quarantine is empty']);
    expect(d.graphRequests()).toBe(0);
    expect(existsSync(d.mailboxDir)).toBe(false);
  });
});

describe('email-connector reprocess on Microsoft Graph', () => {
  it('fetches a quarantined message from Graph by its id and moves it from Failed to Processed', async () => {
    const graphApp = await startGraphApp({ env: { MAX_ATTEMPTS: '1' } });
    cleanups.push(() => graphApp.close());
    const { standIn: graph, app } = graphApp;
    const box = graph.mailbox(mailboxName);
    // Graph cannot hand the message out: the one attempt fails and the message is quarantined.
    graph.injectFault({ method: 'GET', path: /\/\$value$/, status: 503, times: 1_000 });
    const id = graph.addMessage(mailboxName, customerMail(1));
    await graph.notify(mailboxName, [id]);
    await waitFor(async () => (await app.store.listIntake('quarantined', 10)).length === 1, 5_000);
    await waitFor(
      async () => box.folders.get(box.messages.get(id)!.folderId)?.displayName === 'Failed',
      5_000,
    );
    await app.stop();
    graph.clearFaults();
    const fetchesBefore = graph.requestsMatching('GET', /\/\$value$/).length;
    const output = collectingOutput();

    const code = await runCli(
      ['reprocess', '--all'],
      envOfApp(graphApp.config, graph, graphApp.baseUrl),
      output,
      { graph: standInOverrides(graph) },
    );

    expect(code, output.text()).toBe(0);
    expect(output.errors.join('\n')).toMatch(new RegExp(`\\[1\\] ${id} → ticket-created`));
    const fetches = graph.requestsMatching('GET', /\/\$value$/).slice(fetchesBefore);
    expect(fetches.map((request) => [request.path, request.status])).toEqual([
      [`/users/${mailboxName}/messages/${id}/$value`, 200],
    ]);
    expect(box.folders.get(box.messages.get(id)!.folderId)?.displayName).toBe('Processed');
    const ack = (await Promise.all(graph.sentMail.map((mail) => parseMail(mail.mime)))).find(
      (mail) => mail.headers['x-email-connector'] === 'ack',
    );
    expect(ack?.to).toEqual(['user1@acme.example']);
    expect(existsSync(graphApp.config.MAILBOX_DIR)).toBe(false);
  });
});

describe('email-connector graph status|renew|resubscribe against a running service', () => {
  let graphApp: GraphApp;
  let env: Record<string, string>;
  let options: CliOptions;

  beforeAll(async () => {
    // A short lifetime, so that a renewal (3 days by default) visibly moves the expiry.
    graphApp = await startGraphApp({ graph: { subscriptionLifetimeMinutes: 60 } });
    env = envOfApp(graphApp.config, graphApp.standIn, graphApp.baseUrl);
    options = { graph: standInOverrides(graphApp.standIn) };
  });
  afterAll(() => graphApp.close());

  const only = () => {
    const all = [...graphApp.standIn.subscriptions.values()];
    expect(all).toHaveLength(1);
    return all[0]!;
  };

  it('status shows the shortened id, resource, expiry with time left, notification URL and last delta', async () => {
    const subscription = only();
    const output = collectingOutput();

    const code = await runCli(['graph', 'status'], env, output, options);

    expect(code, output.text()).toBe(0);
    expect(output.lines).toEqual([
      `subscription   ${subscription.id.slice(0, 8)}… (known to Graph)`,
      `resource       users/${mailboxName}/mailFolders('Inbox')/messages`,
      expect.stringMatching(
        new RegExp(`^expires        ${subscription.expirationDateTime} \\(in [\\dhm ]+\\)$`),
      ),
      `notifications  ${graphApp.baseUrl}/webhooks/graph`,
      expect.stringMatching(/^last delta {5}\d{4}-\d\d-\d\dT\S+ \(\d+s ago\)$/),
    ]);
    expect(output.text()).not.toContain(subscription.id);
    expect(output.text()).not.toContain(clientState);
  });

  it('renew extends the subscription at Graph and prints the new expiry', async () => {
    const before = only().expirationDateTime;
    const output = collectingOutput();

    const code = await runCli(['graph', 'renew'], env, output, options);

    expect(code, output.text()).toBe(0);
    const after = only().expirationDateTime;
    expect(Date.parse(after) - Date.parse(before)).toBeGreaterThan(24 * 3_600_000);
    expect(output.lines).toEqual([
      expect.stringMatching(
        new RegExp(`^renewed subscription \\S{8}…: expires ${after} \\(in (2d 23h|3d 0h)\\), was ${before}$`),
      ),
    ]);
    expect(graphApp.standIn.requestsMatching('PATCH', /^\/subscriptions\//).at(-1)?.status).toBe(200);
  });

  it('resubscribe replaces the subscription, and the running service accepts notifications of the new one', async () => {
    const old = only();
    const output = collectingOutput();

    const code = await runCli(['graph', 'resubscribe'], env, output, options);

    expect(code, output.text()).toBe(0);
    const created = only();
    expect(created.id).not.toBe(old.id);
    expect(output.lines).toEqual([
      `deleted subscription ${old.id.slice(0, 8)}…`,
      expect.stringMatching(
        new RegExp(
          `^created subscription ${created.id.slice(0, 8)}…: expires \\S+ \\(in (2d 23h|3d 0h)\\), notifications to ${graphApp.baseUrl}/webhooks/graph$`,
        ),
      ),
    ]);
    // Graph validated the service's endpoint while creating it.
    expect(graphApp.standIn.validations.at(-1)).toEqual({
      url: `${graphApp.baseUrl}/webhooks/graph/lifecycle`,
      ok: true,
    });

    // The service reads the new id from the database (at most every 2 s) when its notifications arrive.
    const id = graphApp.standIn.addMessage(mailboxName, customerMail(2));
    await waitFor(
      async () => (await graphApp.standIn.notify(mailboxName, [id]))[0]?.status === 202,
      5_000,
      250,
    );
    await waitFor(
      async () =>
        (await graphApp.app.store.listOutcomes({ limit: 10 })).some((o) => o.from?.includes('user2@')),
      5_000,
    );
  });
});

describe('email-connector graph without a running service', () => {
  it('status says there is no subscription and exits 1', async () => {
    const graph = await standIn();
    const output = collectingOutput();

    const code = await runCli(
      ['graph', 'status'],
      graphEnv(tempDir(), graph, 'https://127.0.0.1:9'),
      output,
      {
        graph: standInOverrides(graph),
      },
    );

    expect(code).toBe(1);
    expect(output.lines[0]).toMatch(/^no subscription: .*email-connector graph resubscribe/);
    expect(output.lines[1]).toBe('last delta     not recorded');
  });

  it('renew refuses when there is nothing to renew, naming resubscribe', async () => {
    const graph = await standIn();

    const failure = runCli(
      ['graph', 'renew'],
      graphEnv(tempDir(), graph, 'https://127.0.0.1:9'),
      collectingOutput(),
      { graph: standInOverrides(graph) },
    );

    await expect(failure).rejects.toMatchObject({
      exitCode: 1,
      message: 'graph renew: no subscription to renew: run `email-connector graph resubscribe`',
    });
  });

  it('resubscribe says the service must be reachable when Graph cannot validate the notification URL', async () => {
    const graph = await standIn();
    const closedPort = await freePort();
    const output = collectingOutput();

    const failure = runCli(
      ['graph', 'resubscribe'],
      graphEnv(tempDir(), graph, `https://127.0.0.1:${closedPort}`),
      output,
      { graph: standInOverrides(graph) },
    );

    const error = (await failure.catch((caught: unknown) => caught)) as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain(
      `Graph could not validate https://127.0.0.1:${closedPort}/webhooks/graph`,
    );
    expect(error.message).toMatch(/the service must be running and reachable at PUBLIC_BASE_URL/);
    expect(error.message).not.toContain('\n');
    expect(output.lines).toEqual(['Graph had no subscription of ours to delete']);
    expect(graph.subscriptions.size).toBe(0);
  });
});

describe('commands that do not fit the configured mailbox', () => {
  it('graph on the local folder says Graph is not configured and exits 2', async () => {
    const dir = tempDir();
    for (const subcommand of ['status', 'renew', 'resubscribe']) {
      await expect(runCli(['graph', subcommand], testEnv(dir), collectingOutput())).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringMatching(
          /^graph: Microsoft Graph is not configured \(SUPPORT_MAILBOX is not set\)/,
        ),
      });
    }
    // Refused before anything was opened.
    expect(existsSync(join(dir, 'crm.sqlite'))).toBe(false);
  });

  it('demo on Graph refuses, because it drops its mails into the local folder', async () => {
    const dir = tempDir();
    const graph = await standIn();

    const failure = runCli(['demo'], graphEnv(dir, graph, 'https://127.0.0.1:9'), collectingOutput(), {
      graph: standInOverrides(graph),
    });

    await expect(failure).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(
        /^demo: runs on the local mailbox folder only, and SUPPORT_MAILBOX is set/,
      ),
    });
    expect(graph.requests).toEqual([]);
    expect(existsSync(join(dir, 'mailbox'))).toBe(false);
  });
});
