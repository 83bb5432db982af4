import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import type { Output } from '../../src/cli/output.ts';
import type { GraphOverrides } from '../../src/composition-root.ts';
import type { Config } from '../../src/config/config.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { sqliteMigrations } from '../../src/crm/sqlite/sqlite-migrations.ts';
import { startGraphApp, type GraphApp } from '../graph/graph-app.ts';
import { clientState, mailboxName, token, waitFor } from '../graph/helpers.ts';
import { testEnv } from '../helpers/engine.ts';
import { freePort } from '../helpers/run-node.ts';

interface Run {
  code: number;
  lines: string[];
  /** The line of one check, by the name it is printed with. */
  line(what: string): string;
}

async function doctor(
  env: Record<string, string | undefined>,
  args: string[] = [],
  graph?: GraphOverrides,
): Promise<Run> {
  const lines: string[] = [];
  const output: Output = { out: (line) => lines.push(line), err: (line) => lines.push(line) };
  const code = await runCli(['doctor', ...args], env, output, graph ? { graph } : {});
  return {
    code,
    lines,
    line: (what) =>
      lines.find((line) => line.slice(5).startsWith(`${what}:`) || line.slice(5) === what) ?? '',
  };
}

const graphCheckNames = [
  'Graph token',
  'support mailbox',
  'Processed and Failed folders',
  'send permission',
  'mailbox scoping',
  'webhook validation',
  'subscription',
];

describe('email-connector doctor with the local mailbox folder', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'doctor-'));
    env = testEnv(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names an unreachable SQL Server by host, never with the password from DATABASE_URL', async () => {
    const run = await doctor({ ...env, DATABASE_URL: 'mssql://connector:s3cr3t-pass@127.0.0.1:1/crm' });
    expect(run.code).toBe(1);
    expect(run.line('database')).toMatch(
      /^FAIL database: cannot reach SQL Server 127\.0\.0\.1:1: .* — check that the server/,
    );
    expect(run.lines.join('\n')).not.toContain('s3cr3t-pass');
  });

  it('passes every check on a migrated database and skips the Graph checks', async () => {
    await SqliteCrmStore.open({ path: join(dir, 'crm.sqlite') }).close();
    mkdirSync(join(dir, 'mailbox', 'inbox'), { recursive: true });

    const run = await doctor(env);

    expect(run.code).toBe(0);
    expect(run.line('configuration')).toMatch(/^ok {3}configuration: valid \(local mailbox folder /);
    expect(run.line('internal support address')).toBe(
      'ok   internal support address: helpdesk@msp.example, not the support address',
    );
    expect(run.line('rules file')).toMatch(/^ok {3}rules file: .*rules\.json: \d+ rules$/);
    expect(run.line('database')).toMatch(
      new RegExp(
        `^ok {3}database: .*crm\\.sqlite reachable and migrated \\(schema version ${SqliteCrmStore.latestSchemaVersion}\\)$`,
      ),
    );
    expect(run.line('mailbox folder')).toMatch(
      /^ok {3}mailbox folder: .*mailbox: inbox present; processed, failed, sent created at start$/,
    );
    for (const what of graphCheckNames) {
      expect(run.line(what)).toBe(`skip ${what}: SUPPORT_MAILBOX not set (local folder)`);
    }
    expect(run.lines).toHaveLength(12);
  });

  it('reports a database that does not exist yet as fine, without creating it', async () => {
    const run = await doctor({ ...env, RULES_FILE: '' });

    expect(run.code).toBe(0);
    expect(run.line('rules file')).toBe('ok   rules file: no rules file (RULES_FILE empty)');
    expect(run.line('database')).toMatch(
      /^ok {3}database: not created yet: the service creates and migrates /,
    );
    expect(existsSync(join(dir, 'crm.sqlite'))).toBe(false);
  });

  it('names a database at an older migration and says how to migrate it', async () => {
    const path = join(dir, 'crm.sqlite');
    const db = new Database(path);
    for (const migration of sqliteMigrations.slice(0, 3)) {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
    db.close();

    const run = await doctor(env);

    expect(run.code).toBe(1);
    expect(run.line('database')).toBe(
      `FAIL database: ${path} is not migrated (schema version 3, this program needs ${SqliteCrmStore.latestSchemaVersion}) — start the service once (it migrates the database at start)`,
    );
    expect(run.line('mailbox folder')).toMatch(/^ok /);
  });

  it('names an invalid rules file, the rule and the field', async () => {
    const rules = join(dir, 'rules.json');
    writeFileSync(
      rules,
      JSON.stringify({ rules: [{ name: 'RMM alerts', from: 'rmm@vendor.example', colour: 1 }] }),
    );

    const run = await doctor({ ...env, RULES_FILE: rules });

    expect(run.code).toBe(1);
    expect(run.line('rules file')).toMatch(
      /^FAIL rules file: .*rules\.json: invalid rules file: rules\.0: .*colour.* — correct the file \(docs\/automated-rules\.md describes the format\) or empty RULES_FILE$/,
    );
  });

  it('names an internal support address equal to the support address, with its fix', async () => {
    const run = await doctor({ ...env, INTERNAL_SUPPORT_ADDRESS: 'Support@msp.example' });

    expect(run.code).toBe(1);
    expect(run.line('internal support address')).toBe(
      "FAIL internal support address: INTERNAL_SUPPORT_ADDRESS equals SUPPORT_ADDRESS (support@msp.example): forwards to internal support would come back in as new mail — set INTERNAL_SUPPORT_ADDRESS to the internal team's own mailbox",
    );
    // The service refuses this configuration too, so what needs it is not checked.
    expect(run.line('configuration')).toMatch(/^FAIL configuration: INTERNAL_SUPPORT_ADDRESS: must differ/);
    expect(run.line('database')).toBe('skip database: configuration invalid');
  });

  it("names every bad variable without printing a secret's value", async () => {
    const secret = `cs-${'x'.repeat(130)}`;
    const run = await doctor({ ...env, GRAPH_CLIENT_STATE: secret, PORT: 'eighty' });

    expect(run.code).toBe(1);
    const line = run.line('configuration');
    expect(line).toMatch(/^FAIL configuration: .*PORT: must be a whole number/);
    expect(line).toMatch(
      /GRAPH_CLIENT_STATE: .*— correct (PORT, GRAPH_CLIENT_STATE|GRAPH_CLIENT_STATE, PORT) \(\.env\.example/,
    );
    expect(run.lines.join('\n')).not.toContain('xxxx');
    for (const what of graphCheckNames) expect(run.line(what)).toBe(`skip ${what}: configuration invalid`);
  });

  it('refuses an empty --other-mailbox, or the support mailbox itself, as a bad argument', async () => {
    await expect(doctor(env, ['--other-mailbox', ' '])).rejects.toMatchObject({ exitCode: 2 });
    await expect(
      doctor({ ...env, SUPPORT_MAILBOX: 'support@msp.example' }, ['--other-mailbox', 'Support@msp.example']),
    ).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe('email-connector doctor with Microsoft Graph', () => {
  let g: GraphApp;
  let env: Record<string, string>;
  const other = 'ceo@msp.example';

  /** The environment the running service was configured from. */
  const envOf = (config: Config): Record<string, string> =>
    Object.fromEntries(
      Object.entries(config).map(([name, value]) => [name, value === null ? '' : String(value)]),
    );

  const run = (args: string[] = [], graph: GraphOverrides = {}, overrides: Record<string, string> = {}) =>
    doctor({ ...env, ...overrides }, args, {
      credential: g.standIn.credential,
      fetchOptions: g.standIn.fetchOptions,
      requestTimeoutMs: 2_000,
      ...graph,
    });

  beforeAll(async () => {
    g = await startGraphApp();
    env = envOf(g.config);
  }, 30_000);
  afterAll(() => g?.close());
  afterEach(() => {
    g.standIn.clearFaults();
    g.standIn.setMailboxAccess(mailboxName, 'ok');
    g.standIn.setMailboxAccess(other, 'ok');
  });

  it('passes every check once the service has created its subscription, sending one probe mail the connector ignores', async () => {
    const sentBefore = g.standIn.sentMail.length;

    const result = await run();

    expect(result.code).toBe(0);
    expect(result.lines.map((line) => line.slice(0, 4))).toEqual([
      ...Array<string>(8).fill('ok  '),
      'skip',
      'ok  ',
      'ok  ',
    ]);
    expect(result.line('Graph token')).toBe('ok   Graph token: obtained and accepted by Microsoft Graph');
    expect(result.line('support mailbox')).toBe(
      `ok   support mailbox: ${mailboxName} readable (Inbox: 0 messages)`,
    );
    expect(result.line('Processed and Failed folders')).toBe(
      'ok   Processed and Failed folders: Processed and Failed will be created at first use (needs Mail.ReadWrite)',
    );
    expect(result.line('send permission')).toBe(
      `ok   send permission: probe mail sent to ${mailboxName} (the connector ignores it)`,
    );
    expect(result.line('webhook validation')).toBe(
      `ok   webhook validation: ${g.baseUrl}/webhooks/graph and …/lifecycle answer Graph's validation over HTTPS`,
    );
    expect(result.line('subscription')).toMatch(/^ok {3}subscription: expires in (2 d 23 h|3 d 0 h)$/);
    const text = result.lines.join('\n');
    for (const secret of [clientState, token, 'unused-secret-value']) expect(text).not.toContain(secret);

    // The probe goes from the support mailbox to itself; arriving there, it is recorded as ignored.
    const probes = g.standIn.sentMail.slice(sentBefore);
    expect(probes).toHaveLength(1);
    expect(probes[0]?.mailbox).toBe(mailboxName);
    expect(probes[0]?.mime).toMatch(/^Subject: Email Connector doctor probe$/m);
    expect(probes[0]?.mime).toMatch(new RegExp(`^To: ${mailboxName}$`, 'm'));
    const id = g.standIn.addMessage(mailboxName, probes[0]!.mime);
    await g.standIn.notify(mailboxName, [id]);
    await waitFor(async () => (await g.app.store.findIntake(id))?.state === 'done');
    const [outcome] = await g.app.store.listOutcomes({ limit: 1 });
    expect(outcome).toMatchObject({
      subject: 'Email Connector doctor probe',
      action: 'ignored',
      forwardedTo: [],
    });
  });

  it('names a credential that cannot get a token, with the cause and the fix', async () => {
    const result = await run([], {
      credential: {
        getToken: () =>
          Promise.reject(new Error('AADSTS7000215: Invalid client secret provided.\nTrace ID: 1')),
      },
    });

    expect(result.code).toBe(1);
    expect(result.line('Graph token')).toBe(
      'FAIL Graph token: no token for Microsoft Graph (AADSTS7000215: Invalid client secret provided.) — check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and that GRAPH_CLIENT_SECRET is a current secret of the app registration',
    );
    expect(result.line('support mailbox')).toBe('skip support mailbox: no Graph token');
    expect(result.line('subscription')).toBe('skip subscription: no Graph token');
  });

  it('names a token that Microsoft Graph refuses', async () => {
    const result = await run([], {
      credential: {
        getToken: async () => ({ token: 'not-the-token', expiresOnTimestamp: Date.now() + 60_000 }),
      },
    });

    expect(result.code).toBe(1);
    expect(result.line('Graph token')).toMatch(
      /^FAIL Graph token: Microsoft Graph refused the token \(.*HTTP 401 InvalidAuthenticationToken\) — the credential is for another tenant or app, or no longer valid: check GRAPH_TENANT_ID/,
    );
    expect(result.line('send permission')).toBe('skip send permission: Graph refused the token');
    expect(result.lines.join('\n')).not.toContain('not-the-token');
  });

  it('names a missing send permission', async () => {
    g.standIn.injectFault({ method: 'POST', path: /\/sendMail$/, status: 403 });

    const result = await run();

    expect(result.code).toBe(1);
    expect(result.line('send permission')).toMatch(
      /^FAIL send permission: missing send permission \(.*HTTP 403 ErrorAccessDenied\) — grant Mail\.Send scoped to the mailbox \(infra\/grant-graph-permissions\.ps1\)$/,
    );
    expect(result.line('support mailbox')).toMatch(/^ok /);
  });

  it('names a support mailbox that does not exist', async () => {
    g.standIn.setMailboxAccess(mailboxName, 'missing');

    const result = await run();

    expect(result.code).toBe(1);
    expect(result.line('support mailbox')).toMatch(
      new RegExp(
        `^FAIL support mailbox: mailbox not found: ${mailboxName} \\(.*HTTP 404 ErrorInvalidUser\\) — set SUPPORT_MAILBOX to`,
      ),
    );
    expect(result.line('Processed and Failed folders')).toBe(
      'skip Processed and Failed folders: support mailbox not readable',
    );
    expect(result.line('send permission')).toBe('skip send permission: support mailbox not found');
  });

  it('names an unreachable PUBLIC_BASE_URL', async () => {
    const nobody = `https://127.0.0.1:${await freePort()}`;

    const result = await run([], {}, { PUBLIC_BASE_URL: nobody });

    expect(result.code).toBe(1);
    expect(result.line('webhook validation')).toBe(
      `FAIL webhook validation: ${nobody}/webhooks/graph is unreachable (ECONNREFUSED) — start the service and make PUBLIC_BASE_URL its public https:// address (App Service: the app URL, HTTPS only, Always On)`,
    );
  });

  it('names a PUBLIC_BASE_URL that leads to something other than the webhook', async () => {
    // The stand-in is an HTTPS server the test trusts, but it is not the connector.
    const elsewhere = new URL(g.standIn.baseUrl).origin;

    const result = await run([], {}, { PUBLIC_BASE_URL: elsewhere });

    expect(result.code).toBe(1);
    expect(result.line('webhook validation')).toBe(
      `FAIL webhook validation: ${elsewhere}/webhooks/graph answered HTTP 401 instead of 200 with the token — PUBLIC_BASE_URL must lead to this service, which answers at /webhooks/graph (check the address and any proxy in front)`,
    );
  });

  it('names an expired subscription, with the way to get a new one', async () => {
    const later = new Date(Date.now() + 8 * 86_400_000);

    const result = await run([], { now: () => later });

    expect(result.code).toBe(1);
    expect(result.line('subscription')).toMatch(
      /^FAIL subscription: expired at \S+ \(\d d \d+ h ago\) — start the service \(it creates one\) or run email-connector graph resubscribe$/,
    );
  });

  it('fails mailbox scoping when the app can read another mailbox', async () => {
    const result = await run(['--other-mailbox', other]);

    expect(result.code).toBe(1);
    expect(result.line('mailbox scoping')).toBe(
      `FAIL mailbox scoping: the app can read other mailboxes (it read the Inbox of ${other}) — restrict it with RBAC for Applications (infra/grant-graph-permissions.ps1) and remove tenant-wide consent`,
    );
  });

  it('passes mailbox scoping when Graph refuses another mailbox', async () => {
    g.standIn.setMailboxAccess(other, 'forbidden');

    const result = await run(['--other-mailbox', other]);

    expect(result.code).toBe(0);
    expect(result.line('mailbox scoping')).toBe(
      `ok   mailbox scoping: scoped: reading ${other} was refused (HTTP 403)`,
    );
  });
});
