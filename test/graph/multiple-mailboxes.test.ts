import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { loadConfig } from '../../src/config/config.ts';
import { collectingOutput, envOfApp, standInOverrides } from '../cli/cli-harness.ts';
import { startGraphApp, type GraphApp } from './graph-app.ts';
import { clientState, waitFor } from './helpers.ts';

const support = 'support@msp.example';
const billing = 'billing@msp.example';
const bothMailboxes = { SUPPORT_MAILBOX: `${support},${billing}` };

/** The queue's id of a message: the first mailbox's ids are Graph's own, the others' name their mailbox. */
const queueId = (mailbox: string, id: string): string => (mailbox === support ? id : `${mailbox}/${id}`);

function mail(options: {
  from: string;
  to: string;
  subject: string;
  headers?: string[];
  body?: string;
}): string {
  return [
    ...(options.headers ?? []),
    `From: ${options.from}`,
    `To: ${options.to}`,
    `Subject: ${options.subject}`,
    `Message-ID: <${Math.random().toString(36).slice(2)}@mail.example>`,
    'Date: Mon, 16 Nov 2026 09:01:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    options.body ?? 'The printer on floor 2 does not print.',
    '',
  ].join('\r\n');
}

/** Puts a mail in a mailbox's inbox, announces it through that mailbox's subscription, and waits until it is moved. */
async function deliver(g: GraphApp, mailbox: string, mime: string): Promise<string> {
  const id = g.standIn.addMessage(mailbox, mime);
  const [delivery] = await g.standIn.notify(mailbox, [id]);
  expect(delivery?.status).toBe(202);
  await settled(g, mailbox, id);
  return id;
}

async function settled(g: GraphApp, mailbox: string, id: string): Promise<void> {
  await waitFor(async () => (await g.app.store.findIntake(queueId(mailbox, id)))?.settledAt != null, 10_000);
}

function folderOf(g: GraphApp, mailbox: string, id: string): string | undefined {
  const box = g.standIn.mailbox(mailbox);
  const folderId = box.messages.get(id)?.folderId;
  return [...box.folders.values()].find((folder) => folder.id === folderId)?.displayName;
}

/** What went out through one mailbox's sendMail, parsed. */
async function sentThrough(g: GraphApp, mailbox: string) {
  const sent = g.standIn.sentMail.filter((entry) => entry.mailbox === mailbox);
  return Promise.all(
    sent.map(async (entry) => {
      const parsed = await simpleParser(entry.mime);
      return {
        from: parsed.from?.value[0]?.address ?? null,
        to: parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((value) => value.address) : [],
        subject: parsed.subject ?? '',
        kind: parsed.headers.get('x-email-connector') ?? null,
        text: parsed.text ?? '',
      };
    }),
  );
}

const sendMailPaths = (g: GraphApp): string[] =>
  g.standIn.requestsMatching('POST', /\/sendMail$/).map((request) => request.path);

describe('one connector serving several support mailboxes through Microsoft Graph', () => {
  let g: GraphApp | null = null;
  afterEach(async () => {
    await g?.close();
    g = null;
  });

  it('gives each mailbox its own subscription, all on the one notification URL, and shows each in /readyz', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    const subscriptions = [...g.standIn.subscriptions.values()];
    expect(subscriptions.map((entry) => entry.resource).sort()).toEqual([
      `users/${billing}/mailFolders('Inbox')/messages`,
      `users/${support}/mailFolders('Inbox')/messages`,
    ]);
    for (const subscription of subscriptions) {
      expect(subscription).toMatchObject({
        notificationUrl: `${g.baseUrl}/webhooks/graph`,
        lifecycleNotificationUrl: `${g.baseUrl}/webhooks/graph/lifecycle`,
        clientState,
        createdWithImmutableIds: true,
      });
    }
    // The first mailbox keeps the state key it had alone, so adding a mailbox does not re-subscribe it.
    const stored = JSON.parse((await g.app.store.getState(`graph.subscription:${support}`)) ?? '{}') as {
      id?: string;
    };
    expect(stored.id).toBe(subscriptions.find((entry) => entry.resource.includes(support))?.id);
    expect(await g.app.store.getState(`graph.subscription:${billing}`)).toContain(
      subscriptions.find((entry) => entry.resource.includes(billing))?.id,
    );

    const ready = await g.get('/readyz');
    expect(ready.status).toBe(200);
    const body = JSON.parse(ready.body) as {
      checks: Record<string, string>;
      graph: { mailboxes: { mailbox: string; subscriptionId: string }[] };
    };
    expect(body.checks).toMatchObject({
      'graph-credential': 'ok',
      [`graph-subscription:${support}`]: 'ok',
      [`graph-subscription:${billing}`]: 'ok',
    });
    expect(body.graph.mailboxes.map((entry) => entry.mailbox)).toEqual([support, billing]);
    expect(new Set(body.graph.mailboxes.map((entry) => entry.subscriptionId)).size).toBe(2);
    expect(ready.body).not.toContain(clientState);
  });

  it('opens a ticket for mail to each mailbox and acknowledges it from the mailbox it came to', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    const toSupport = await deliver(
      g,
      support,
      mail({ from: 'Jane <jane@acme.example>', to: support, subject: 'Printer broken' }),
    );
    const toBilling = await deliver(
      g,
      billing,
      mail({ from: 'Hank <hank@globex.example>', to: billing, subject: 'Invoice 1042 is wrong' }),
    );
    await waitFor(() => g!.standIn.sentMail.length >= 2);

    const outcomes = await g.app.store.listOutcomes();
    const bySubject = new Map(outcomes.map((outcome) => [outcome.subject, outcome]));
    expect(bySubject.get('Printer broken')).toMatchObject({
      action: 'ticket-created',
      accountId: 'ACME',
      mailbox: support,
    });
    expect(bySubject.get('Invoice 1042 is wrong')).toMatchObject({
      action: 'ticket-created',
      accountId: 'GLOBEX',
      mailbox: billing,
      source: `graph:${billing}/${toBilling}`,
    });

    // Each acknowledgment went out through its own mailbox's sendMail, from that mailbox's address.
    expect(sendMailPaths(g).sort()).toEqual([`/users/${billing}/sendMail`, `/users/${support}/sendMail`]);
    const [supportAck] = await sentThrough(g, support);
    const [billingAck] = await sentThrough(g, billing);
    expect(supportAck).toMatchObject({ from: support, to: ['jane@acme.example'], kind: 'ack' });
    expect(billingAck).toMatchObject({ from: billing, to: ['hank@globex.example'], kind: 'ack' });
    expect(billingAck?.subject).toBe(
      `[Ticket#${bySubject.get('Invoice 1042 is wrong')?.ticketNumber}] Invoice 1042 is wrong`,
    );

    // Each message went to its own mailbox's Processed folder.
    expect(folderOf(g, support, toSupport)).toBe('Processed');
    expect(folderOf(g, billing, toBilling)).toBe('Processed');
    expect(
      g.standIn.requestsMatching('POST', new RegExp(`^/users/${billing}/messages/${toBilling}/move$`)),
    ).toHaveLength(1);

    // `outcomes --json` shows the mailbox of each.
    const output = collectingOutput();
    const env = { ...envOfApp(g.config, g.standIn, g.baseUrl), ...bothMailboxes };
    expect(await runCli(['outcomes', '--json'], env, output, { graph: standInOverrides(g.standIn) })).toBe(0);
    const listed = output.lines.map((line) => JSON.parse(line) as { subject: string; mailbox: string });
    expect(Object.fromEntries(listed.map((entry) => [entry.subject, entry.mailbox]))).toEqual({
      'Printer broken': support,
      'Invoice 1042 is wrong': billing,
    });
  });

  it('doctor checks each mailbox: its access, probe mail and subscription', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    await waitFor(async () => g!.standIn.subscriptions.size >= 2, 10_000);
    const output = collectingOutput();
    const env = { ...envOfApp(g.config, g.standIn, g.baseUrl), ...bothMailboxes };
    const code = await runCli(['doctor'], env, output, { graph: standInOverrides(g.standIn) });
    expect(output.text()).not.toMatch(/^FAIL/m);
    expect(code).toBe(0);
    for (const mailbox of [support, billing]) {
      expect(
        output.lines.some(
          (line) => line.startsWith('ok') && line.includes(`[${mailbox}]`) && /subscription/i.test(line),
        ),
      ).toBe(true);
    }
    // One probe mail through each mailbox's own sendMail.
    expect(sendMailPaths(g).sort()).toEqual(
      [`/users/${billing}/sendMail`, `/users/${support}/sendMail`].sort(),
    );
  });

  it('graph status, renew and resubscribe act on every mailbox, or on the one --mailbox names', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    await waitFor(async () => g!.standIn.subscriptions.size >= 2, 10_000);
    const env = { ...envOfApp(g.config, g.standIn, g.baseUrl), ...bothMailboxes };
    const options = { graph: standInOverrides(g.standIn) };
    const subscriptionOf = (mailbox: string) =>
      [...g!.standIn.subscriptions.values()].find((entry) => entry.resource.includes(mailbox))!;
    const run = async (...args: string[]) => {
      const output = collectingOutput();
      const code = await runCli(['graph', ...args], env, output, options).catch((error: unknown) => error);
      return { code, output };
    };

    // status: each mailbox under its own heading, with its own subscription and resource.
    const status = await run('status');
    expect(status.code, status.output.text()).toBe(0);
    for (const mailbox of [support, billing]) {
      const at = status.output.lines.indexOf(`mailbox        ${mailbox}`);
      expect(at, status.output.text()).toBeGreaterThanOrEqual(0);
      expect(status.output.lines[at + 1]).toBe(
        `subscription   ${subscriptionOf(mailbox).id.slice(0, 8)}… (known to Graph)`,
      );
      expect(status.output.lines[at + 2]).toBe(
        `resource       users/${mailbox}/mailFolders('Inbox')/messages`,
      );
    }

    // renew: both subscriptions extended at Graph.
    const renewed = await run('renew');
    expect(renewed.code, renewed.output.text()).toBe(0);
    const patched = g.standIn.requestsMatching('PATCH', /^\/subscriptions\//).map((request) => request.path);
    for (const mailbox of [support, billing])
      expect(patched).toContain(`/subscriptions/${subscriptionOf(mailbox).id}`);

    // resubscribe --mailbox: only the one named is replaced.
    const [supportBefore, billingBefore] = [subscriptionOf(support).id, subscriptionOf(billing).id];
    const replaced = await run('resubscribe', '--mailbox', billing.toUpperCase());
    expect(replaced.code, replaced.output.text()).toBe(0);
    expect(subscriptionOf(support).id).toBe(supportBefore);
    expect(subscriptionOf(billing).id).not.toBe(billingBefore);
    expect(replaced.output.lines[0]).toBe(`deleted subscription ${billingBefore.slice(0, 8)}…`);

    // A mailbox whose subscription Graph lost makes status exit 1; the other is still shown as it is.
    g.standIn.subscriptions.delete(subscriptionOf(billing).id);
    const lost = await run('status');
    expect(lost.code).toBe(1);
    expect(lost.output.text()).toContain(`${subscriptionOf(support).id.slice(0, 8)}… (known to Graph)`);
    expect(lost.output.text()).toMatch(/Graph no longer knows this subscription/);

    // A mailbox that is not configured is a usage error, and nothing is asked of Graph.
    const requests = g.standIn.requests.length;
    const unknown = await run('status', '--mailbox', 'sales@msp.example');
    expect(unknown.code).toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(`sales@msp.example is not a configured mailbox`),
    });
    expect(g.standIn.requests.length).toBe(requests);
  });

  it('graph renew goes on to the next mailbox when one fails, then names the failed one and exits 1', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    await waitFor(async () => g!.standIn.subscriptions.size >= 2, 10_000);
    const env = { ...envOfApp(g.config, g.standIn, g.baseUrl), ...bothMailboxes };
    const subscriptionOf = (mailbox: string) =>
      [...g!.standIn.subscriptions.values()].find((entry) => entry.resource.includes(mailbox))!;
    const supportExpiry = subscriptionOf(support).expirationDateTime;
    // support is listed first: its renewal is refused; billing's still goes through.
    g.standIn.injectFault({
      method: 'PATCH',
      path: new RegExp(`^/subscriptions/${subscriptionOf(support).id}$`),
      status: 403,
    });
    const output = collectingOutput();
    const failure = await runCli(['graph', 'renew'], env, output, {
      graph: standInOverrides(g.standIn),
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      exitCode: 1,
      message: `graph renew: failed for ${support} (see above)`,
    });
    expect(output.errors.join('\n')).toMatch(new RegExp(`^${support}: graph renew: .*403`, 'm'));
    expect(output.lines).toContain(`mailbox        ${billing}`);
    expect(output.lines.some((line) => line.startsWith('renewed subscription '))).toBe(true);
    expect(subscriptionOf(support).expirationDateTime).toBe(supportExpiry);
  });

  it("fetches a message from mailbox B when B's subscription announces it", async () => {
    g = await startGraphApp({ env: bothMailboxes });
    const id = await deliver(
      g,
      billing,
      mail({ from: 'Hank <hank@globex.example>', to: billing, subject: 'Where is my credit note?' }),
    );
    expect(g.standIn.requestsMatching('GET', /\/\$value$/).map((request) => request.path)).toEqual([
      `/users/${billing}/messages/${id}/$value`,
    ]);
    expect(await g.app.store.findIntake(id)).toBeNull();
    expect(await g.app.store.findIntake(`${billing}/${id}`)).toMatchObject({ state: 'done' });
  });

  it('never answers, and opens no ticket for, mail that one support mailbox sends to another', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    const ticketsBefore = (await g.app.store.counts()).tickets;
    const id = await deliver(
      g,
      support,
      mail({ from: `Billing <${billing}>`, to: support, subject: 'Re: your invoice question' }),
    );
    await deliver(
      g,
      billing,
      mail({ from: `Support <${support}>`, to: billing, subject: 'Automatic reply: Printer broken' }),
    );
    await g.app.outbox.flush();

    const outcomes = await g.app.store.listOutcomes();
    expect(outcomes.map((outcome) => [outcome.mailbox, outcome.action, outcome.code])).toEqual(
      expect.arrayContaining([
        [support, 'ignored', 'machine-mail'],
        [billing, 'ignored', 'machine-mail'],
      ]),
    );
    expect((await g.app.store.counts()).tickets).toBe(ticketsBefore);
    expect(g.standIn.sentMail).toEqual([]);
    expect(folderOf(g, support, id)).toBe('Processed');
  });

  it('sends no acknowledgment to a support mailbox, whichever address of the mail names it', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    // A customer's mail whose envelope sender (where RFC 3834 replies go) is the other support mailbox.
    await deliver(
      g,
      support,
      mail({
        headers: [`Return-Path: <${billing}>`],
        from: 'Jane <jane@acme.example>',
        to: support,
        subject: 'Forwarded by billing',
      }),
    );
    await g.app.outbox.flush();
    const [outcome] = await g.app.store.listOutcomes();
    expect(outcome).toMatchObject({ action: 'ticket-created', mailbox: support, sent: [] });
    expect(g.standIn.sentMail).toEqual([]);
  });

  it('answers an XML API call from the mailbox it came to, and never to a support mailbox', async () => {
    g = await startGraphApp({
      env: { ...bothMailboxes, XML_API_ENABLED: 'true', XML_API_PASSWORD: 's3cret-api' },
    });
    const transaction = (respondTo: string, id: string): string =>
      [
        '<?commitcrmxml version="1.0" ?>',
        '<CommitCRMTransaction>',
        '  <ExternalApplicationName>Web form</ExternalApplicationName>',
        `  <SendResponseToEmail>${respondTo}</SendResponseToEmail>`,
        '  <Password>s3cret-api</Password>',
        `  <ReturnTransactionID>${id}</ReturnTransactionID>`,
        '  <DataKind>TICKET</DataKind>',
        '  <RecordData>',
        '    <FLDTKTCARDID>ACME</FLDTKTCARDID>',
        '    <FLDTKTPROBLEM>Printer does not print</FLDTKTPROBLEM>',
        '  </RecordData>',
        '</CommitCRMTransaction>',
      ].join('\r\n');
    const from = 'Partner Web Form <webform@partner.example>';
    await deliver(
      g,
      billing,
      mail({
        from,
        to: billing,
        subject: 'Web form 1',
        body: transaction('integrations@partner.example', 'wf-1'),
      }),
    );
    await deliver(
      g,
      billing,
      mail({ from, to: billing, subject: 'Web form 2', body: transaction(support.toUpperCase(), 'wf-2') }),
    );
    await waitFor(() => g!.standIn.sentMail.length >= 1);
    await g.app.outbox.flush();

    const responses = await sentThrough(g, billing);
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ from: billing, to: ['integrations@partner.example'] });
    expect(responses[0]?.text).toContain('wf-1');
    expect(g.standIn.sentMail.filter((entry) => entry.mailbox !== billing)).toEqual([]);
    const refused = (await g.app.store.listOutcomes()).find((outcome) => outcome.subject === 'Web form 2');
    expect(refused).toMatchObject({ action: 'api', mailbox: billing, sent: [] });
  });

  it('catches up each mailbox with its own delta after a restart', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    let whileDown = '';
    await g.restart(() => {
      whileDown = g!.standIn.addMessage(
        billing,
        mail({ from: 'Hank <hank@globex.example>', to: billing, subject: 'Sent while you were down' }),
      );
    });
    await settled(g, billing, whileDown);
    expect(g.standIn.subscriptions.size).toBe(2);
    expect(g.standIn.requestsMatching('POST', /^\/subscriptions$/)).toHaveLength(2);
    expect(await g.app.store.getState(`graph.delta-link:${billing}:inbox`)).toEqual(expect.any(String));
    expect(await g.app.store.getState(`graph.delta-link:${support}:inbox`)).toEqual(expect.any(String));
    const [outcome] = await g.app.store.listOutcomes();
    expect(outcome).toMatchObject({
      subject: 'Sent while you were down',
      mailbox: billing,
      action: 'ticket-created',
    });
    expect(folderOf(g, billing, whileDown)).toBe('Processed');
  });

  it('refuses a notification whose subscription id is no mailbox’s', async () => {
    g = await startGraphApp({ env: bothMailboxes });
    const id = g.standIn.addMessage(
      billing,
      mail({ from: 'x@acme.example', to: billing, subject: 'forged' }),
    );
    const [delivery] = await g.standIn.notify(billing, [id], {
      subscriptionId: 'f0f0f0f0-0000-0000-0000-000000000000',
    });
    expect(delivery?.status).toBe(403);
    expect(await g.app.store.findIntake(`${billing}/${id}`)).toBeNull();
  });
});

describe('SUPPORT_MAILBOX with several mailboxes', () => {
  const graph = {
    PUBLIC_BASE_URL: 'https://connector.example',
    GRAPH_CLIENT_STATE: clientState,
  };

  it('accepts a comma-separated list of addresses, in any case and spacing', () => {
    const config = loadConfig({ ...graph, SUPPORT_MAILBOX: ` Support@MSP.example , billing@msp.example ,` });
    expect(config.SUPPORT_MAILBOX).toBe(`${support},${billing}`);
  });

  it('keeps a single mailbox as written, object id or address', () => {
    const objectId = '5f1c2a9e-0d4b-4c8e-9a51-7e3b2d6f8a10';
    expect(loadConfig({ ...graph, SUPPORT_MAILBOX: objectId }).SUPPORT_MAILBOX).toBe(objectId);
    expect(loadConfig({ ...graph, SUPPORT_MAILBOX: 'Support@MSP.example' }).SUPPORT_MAILBOX).toBe(
      'Support@MSP.example',
    );
  });

  it('refuses an entry that is not an email address, or one listed twice, naming it', () => {
    expect(() =>
      loadConfig({ ...graph, SUPPORT_MAILBOX: `${support},5f1c2a9e-0d4b-4c8e-9a51-7e3b2d6f8a10` }),
    ).toThrow(
      /SUPPORT_MAILBOX: with several mailboxes each must be an email address, since answers go out from it: 5f1c2a9e/,
    );
    expect(() => loadConfig({ ...graph, SUPPORT_MAILBOX: `${support},SUPPORT@msp.example` })).toThrow(
      /SUPPORT_MAILBOX: SUPPORT@msp.example is listed twice/,
    );
  });
});
