import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config/config.ts';
import { GraphRequestError, graphScope, segment, type GraphApi } from '../composition-root.ts';
import { composeMail } from '../processing/compose-mail.ts';
import { newMessageId } from '../processing/thread-reference.ts';
import { causeOf, fail, ok, skip, type Report } from './check.ts';

export const graphChecks = {
  token: 'Graph token',
  mailbox: 'support mailbox',
  folders: 'Processed and Failed folders',
  send: 'send permission',
  scoping: 'mailbox scoping',
} as const;

/** The subject of the one mail doctor sends (from the support mailbox to itself). */
export const probeSubject = 'Email Connector doctor probe';

const grantScript = 'infra/grant-graph-permissions.ps1';

export interface GraphCheckInput {
  config: Config;
  /** Null when the credential could not even be built (the reason is in `credentialError`). */
  credential: TokenCredential | null;
  credentialError: unknown;
  api: GraphApi | null;
  /** A mailbox the app must not be able to read; null to skip the scoping check. */
  otherMailbox: string | null;
  timeoutMs: number;
}

type Answer<T> = { ok: true; value: T } | { ok: false; error: GraphRequestError };

async function attempt<T>(call: Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await call };
  } catch (error) {
    if (error instanceof GraphRequestError) return { ok: false, error };
    throw error;
  }
}

/** What to do when Graph gave no usable answer that says anything about permissions. */
function tryAgain(error: GraphRequestError): string {
  if (error.kind === 'throttled') return 'Microsoft Graph is throttling this app: run doctor again later';
  return 'check that Microsoft Graph is reachable from here (GRAPH_BASE_URL, proxy, firewall) and run doctor again';
}

function tokenFix(config: Config): string {
  switch (config.GRAPH_AUTH) {
    case 'managed-identity':
      return "turn on the App Service's managed identity (a user-assigned one also needs GRAPH_MANAGED_IDENTITY_CLIENT_ID); outside Azure use GRAPH_AUTH=client-certificate or client-secret";
    case 'client-certificate':
      return 'check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and that GRAPH_CERTIFICATE_PATH holds the certificate (with its key) uploaded to the app registration';
    case 'client-secret':
      return 'check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and that GRAPH_CLIENT_SECRET is a current secret of the app registration';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Checks 5 to 9: a token, the support mailbox readable, its Processed and Failed folders, one probe mail sent, and
 * (with an other mailbox named) that the app cannot read beyond the support mailbox. Returns whether Graph took
 * the token, which the subscription check needs.
 */
export async function checkGraphAccess(input: GraphCheckInput, report: Report): Promise<boolean> {
  const { config, api } = input;
  const mailbox = config.SUPPORT_MAILBOX as string;
  const skipRest = (why: string) => {
    for (const what of [graphChecks.mailbox, graphChecks.folders, graphChecks.send, graphChecks.scoping])
      report(skip(what, why));
  };

  try {
    if (!input.credential || !api) throw input.credentialError;
    const seconds = Math.round(input.timeoutMs / 1000);
    const token = await withTimeout(
      input.credential.getToken(graphScope),
      input.timeoutMs,
      `no answer within ${seconds} s`,
    );
    if (!token?.token) throw new Error('the credential returned no token');
  } catch (error) {
    report(fail(graphChecks.token, `no token for Microsoft Graph (${causeOf(error)})`, tokenFix(config)));
    skipRest('no Graph token');
    return false;
  }

  // The first real call also tells whether Graph accepts the token: a 401 is the credential's fault, not the mailbox's.
  const user = `/users/${segment(mailbox)}`;
  const inbox = await attempt(
    api.call<{ totalItemCount?: number }>({
      method: 'GET',
      path: `${user}/mailFolders('Inbox')?$select=id,totalItemCount`,
      what: 'read Inbox',
    }),
  );
  if (!inbox.ok && inbox.error.status === 401) {
    report(
      fail(
        graphChecks.token,
        `Microsoft Graph refused the token (${inbox.error.message})`,
        `the credential is for another tenant or app, or no longer valid: ${tokenFix(config)}`,
      ),
    );
    skipRest('Graph refused the token');
    return false;
  }
  const answered = inbox.ok || inbox.error.status !== null;
  report(
    ok(
      graphChecks.token,
      answered ? 'obtained and accepted by Microsoft Graph' : 'obtained (Graph did not answer)',
    ),
  );

  // 6. The support mailbox.
  if (inbox.ok) {
    const count = inbox.value.totalItemCount;
    report(
      ok(
        graphChecks.mailbox,
        `${mailbox} readable${count === undefined ? '' : ` (Inbox: ${count} messages)`}`,
      ),
    );
  } else if (inbox.error.status === 404) {
    report(
      fail(
        graphChecks.mailbox,
        `mailbox not found: ${mailbox} (${inbox.error.message})`,
        "set SUPPORT_MAILBOX to the support mailbox's address (UPN) or object id in the app's tenant",
      ),
    );
  } else if (inbox.error.status === 403) {
    report(
      fail(
        graphChecks.mailbox,
        `not permitted to read ${mailbox} (${inbox.error.message})`,
        `grant Mail.Read and Mail.ReadWrite scoped to the mailbox (${grantScript})`,
      ),
    );
  } else {
    report(
      fail(graphChecks.mailbox, `cannot read ${mailbox} (${inbox.error.message})`, tryAgain(inbox.error)),
    );
  }

  // 7. Processed and Failed: looked up, never created here.
  if (inbox.ok) await checkFolders(api, user, report);
  else report(skip(graphChecks.folders, 'support mailbox not readable'));

  // 8. Mail.Send is granted on its own, so it is worth trying even when reading was refused.
  if (!inbox.ok && inbox.error.status === 404) report(skip(graphChecks.send, 'support mailbox not found'));
  else await checkSend(config, api, user, report);

  // 9. RBAC for Applications: reading another mailbox must be refused.
  if (input.otherMailbox) await checkScoping(api, input.otherMailbox, report);
  else report(skip(graphChecks.scoping, 'name another mailbox with --other-mailbox to check'));
  return true;
}

async function checkFolders(api: GraphApi, user: string, report: Report): Promise<void> {
  const present: string[] = [];
  const missing: string[] = [];
  // The names GraphMailbox settles messages into; it creates them at first use.
  for (const name of ['Processed', 'Failed']) {
    const filter = encodeURIComponent(`displayName eq '${name}'`);
    const found = await attempt(
      api.call<{ value: { displayName: string }[] }>({
        method: 'GET',
        path: `${user}/mailFolders?$filter=${filter}&$select=id,displayName`,
        what: `find folder ${name}`,
      }),
    );
    if (!found.ok) {
      const refused = found.error.status === 403;
      report(
        fail(
          graphChecks.folders,
          `cannot list the mailbox's folders (${found.error.message})`,
          refused ? `grant Mail.ReadWrite scoped to the mailbox (${grantScript})` : tryAgain(found.error),
        ),
      );
      return;
    }
    const exists = found.value.value.some(
      (folder) => folder.displayName.toLowerCase() === name.toLowerCase(),
    );
    (exists ? present : missing).push(name);
  }
  const parts = [
    ...(present.length > 0 ? [`${present.join(' and ')} present`] : []),
    ...(missing.length > 0
      ? [`${missing.join(' and ')} will be created at first use (needs Mail.ReadWrite)`]
      : []),
  ];
  report(ok(graphChecks.folders, parts.join('; ')));
}

/**
 * Sends one mail from the support mailbox to itself: the only way to know that Mail.Send is granted. It arrives as
 * machine-made mail from the support address, which the connector records as ignored (no ticket, no reply).
 */
async function checkSend(config: Config, api: GraphApi, user: string, report: Report): Promise<void> {
  const mailbox = config.SUPPORT_MAILBOX as string;
  // SUPPORT_MAILBOX may be an object id; then the support address is the one that reaches it.
  const address = mailbox.includes('@') ? mailbox.toLowerCase() : config.SUPPORT_ADDRESS;
  const mime = await composeMail({
    from: address,
    to: [address],
    subject: probeSubject,
    text: [
      'Sent by "email-connector doctor" to check that the connector may send from this mailbox.',
      'The connector records it as ignored: no ticket, no reply. It can be deleted.',
      '',
    ].join('\n'),
    messageId: newMessageId(address),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Email-Connector': 'doctor-probe' },
  });
  const sent = await attempt(
    api.call({
      method: 'POST',
      path: `${user}/sendMail`,
      what: 'sendMail',
      body: mime.toString('base64'),
      contentType: 'text/plain',
      retries: 0,
    }),
  );
  if (sent.ok) report(ok(graphChecks.send, `probe mail sent to ${address} (the connector ignores it)`));
  else if (sent.error.status === 403)
    report(
      fail(
        graphChecks.send,
        `missing send permission (${sent.error.message})`,
        `grant Mail.Send scoped to the mailbox (${grantScript})`,
      ),
    );
  else
    report(
      fail(graphChecks.send, `the probe mail was not sent (${sent.error.message})`, tryAgain(sent.error)),
    );
}

async function checkScoping(api: GraphApi, other: string, report: Report): Promise<void> {
  const read = await attempt(
    api.call({
      method: 'GET',
      path: `/users/${segment(other)}/mailFolders('Inbox')?$select=id`,
      what: 'read another mailbox',
    }),
  );
  if (read.ok) {
    report(
      fail(
        graphChecks.scoping,
        `the app can read other mailboxes (it read the Inbox of ${other})`,
        `restrict it with RBAC for Applications (${grantScript}) and remove tenant-wide consent`,
      ),
    );
  } else if (read.error.status === 403 || read.error.status === 404) {
    // RBAC for Applications answers 403; a 404 is how Graph also hides a mailbox, or it does not exist.
    const answer =
      read.error.status === 403 ? 'HTTP 403' : 'HTTP 404: hidden from the app, or no such mailbox';
    report(ok(graphChecks.scoping, `scoped: reading ${other} was refused (${answer})`));
  } else {
    report(fail(graphChecks.scoping, `could not tell (${read.error.message})`, tryAgain(read.error)));
  }
}
