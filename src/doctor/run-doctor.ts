import type { TokenCredential } from '@azure/identity';
import { createGraphCredential, GraphApi, type GraphOverrides } from '../composition-root.ts';
import { supportMailboxes } from '../config/config.ts';
import { skip, type Report } from './check.ts';
import {
  checkAddresses,
  checkConfiguration,
  checkRulesFile,
  rulesFileCheck,
} from './configuration-checks.ts';
import { checkDatabase, databaseCheck } from './database-check.ts';
import { checkGraphAccess, graphChecks } from './graph-checks.ts';
import { checkMailboxFolder } from './mailbox-folder-check.ts';
import { checkSubscription, subscriptionCheck } from './subscription-check.ts';
import { checkWebhook, webhookCheck } from './webhook-check.ts';

export interface DoctorOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Tests inject the stand-in's credential and TLS dispatcher, and may shift the clock (`now`). */
  graph: GraphOverrides;
  /** A mailbox the app must not be able to read; null skips the scoping check. */
  otherMailbox: string | null;
  report: Report;
}

/**
 * Runs every check in order, each reported as soon as it is done. Checks that need something an earlier one found
 * broken are reported as skipped. Changes nothing, except that the Graph send check sends one probe mail.
 */
export async function runDoctor(options: DoctorOptions): Promise<void> {
  const { env, graph, report } = options;
  const config = checkConfiguration(env, report);
  checkAddresses(env, config, report);
  const graphNames = [...Object.values(graphChecks), webhookCheck, subscriptionCheck];
  if (!config) {
    for (const what of [rulesFileCheck, databaseCheck, ...graphNames])
      report(skip(what, 'configuration invalid'));
    return;
  }
  checkRulesFile(config, report);
  const databasePath = await checkDatabase(config, report);
  if (!config.SUPPORT_MAILBOX) {
    checkMailboxFolder(config, report);
    for (const what of graphNames) report(skip(what, 'SUPPORT_MAILBOX not set (local folder)'));
    return;
  }

  const timeoutMs = graph.requestTimeoutMs ?? 15_000;
  let credential: TokenCredential | null = graph.credential ?? null;
  let credentialError: unknown = null;
  try {
    // Building it reads GRAPH_CERTIFICATE_PATH: a missing file is a token problem, reported as such.
    credential ??= createGraphCredential(config);
  } catch (error) {
    credentialError = error;
  }
  const api = credential
    ? new GraphApi({
        credential,
        baseUrl: config.GRAPH_BASE_URL,
        timeoutMs,
        ...(graph.fetchOptions ? { fetchOptions: graph.fetchOptions } : {}),
      })
    : null;
  // Each support mailbox has its own permissions, folders and subscription: those checks run once per mailbox,
  // their lines naming the mailbox when there are several.
  const mailboxes = supportMailboxes(config);
  const accepted: boolean[] = [];
  for (const [index, mailbox] of mailboxes.entries()) {
    const forMailbox = mailboxes.length > 1 ? named(report, mailbox) : report;
    accepted.push(
      await checkGraphAccess(
        {
          config: { ...config, SUPPORT_MAILBOX: mailbox },
          credential,
          credentialError,
          api,
          // The app's reach beyond its mailboxes is one question, asked once.
          otherMailbox: index === 0 ? options.otherMailbox : null,
          timeoutMs,
        },
        forMailbox,
      ),
    );
  }
  await checkWebhook({ config, ...(graph.fetchOptions ? { fetchOptions: graph.fetchOptions } : {}) }, report);
  for (const [index, mailbox] of mailboxes.entries()) {
    const forMailbox = mailboxes.length > 1 ? named(report, mailbox) : report;
    if (accepted[index] && api) {
      const now = graph.now?.() ?? new Date();
      await checkSubscription(
        { config: { ...config, SUPPORT_MAILBOX: mailbox }, api, databasePath, now },
        forMailbox,
      );
    } else {
      forMailbox(skip(subscriptionCheck, 'no Graph token'));
    }
  }
}

/** A report whose lines name the mailbox they are about. */
function named(report: Report, mailbox: string): Report {
  return (result) => report({ ...result, what: `${result.what} [${mailbox}]` });
}
