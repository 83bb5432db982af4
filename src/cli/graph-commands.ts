import type { Config } from '../config/config.ts';
import {
  GraphRequestError,
  type GraphIntake,
  type GraphSubscription,
  type MailboxSubscription,
  type SubscriptionState,
} from '../composition-root.ts';
import { mailboxFailure, type Attempted } from './mailbox-failure.ts';
import { CliError, type Output } from './output.ts';

export type GraphSubcommand = 'status' | 'renew' | 'resubscribe';

export const graphSubcommands: readonly GraphSubcommand[] = ['status', 'renew', 'resubscribe'];

/** Subscriptions to a user's messages need Mail.Read. */
const watching: Attempted = { action: 'watch', permission: 'Mail.Read' };

interface GraphCommandOptions {
  intake: GraphIntake;
  config: Config;
  now: () => Date;
  output: Output;
  /** Only this mailbox (one SUPPORT_MAILBOX names); null: every one. */
  mailbox: string | null;
}

interface GraphCommandContext extends Omit<GraphCommandOptions, 'intake' | 'mailbox'> {
  mailbox: MailboxSubscription;
}

/**
 * `graph status|renew|resubscribe [--mailbox ADDRESS]`: the inbox subscription of every configured mailbox (or of
 * the one named), as Graph and the database know it. With several mailboxes each one's lines follow a
 * `mailbox` line, and a mailbox that fails does not stop the others: the command reports every failure and exits 1.
 */
export async function graphCommand(
  subcommand: GraphSubcommand,
  options: GraphCommandOptions,
): Promise<number> {
  const { intake, output, mailbox: named, ...rest } = options;
  const mailboxes = named
    ? intake.subscriptions.filter((entry) => entry.address.toLowerCase() === named.toLowerCase())
    : intake.subscriptions;
  if (mailboxes.length === 0)
    throw new CliError(
      `graph ${subcommand}: ${named} is not a configured mailbox (SUPPORT_MAILBOX: ${intake.subscriptions.map((entry) => entry.address).join(', ')})`,
      2,
    );
  const several = mailboxes.length > 1;
  const failures: string[] = [];
  let code = 0;
  for (const [index, mailbox] of mailboxes.entries()) {
    if (several) {
      if (index > 0) output.out('');
      output.out(`mailbox        ${mailbox.address}`);
    }
    try {
      const context = { ...rest, output, mailbox };
      if (subcommand === 'status') code = Math.max(code, await status(context));
      else if (subcommand === 'renew') await renew(context);
      else await resubscribe(context);
    } catch (error) {
      const failure =
        error instanceof CliError
          ? error
          : mailboxFailure(`graph ${subcommand}`, error, rest.config, watching);
      if (!several) throw failure;
      output.err(`${mailbox.address}: ${failure.message}`);
      failures.push(mailbox.address);
    }
  }
  if (failures.length > 0)
    throw new CliError(`graph ${subcommand}: failed for ${failures.join(', ')} (see above)`);
  return code;
}

async function status({ mailbox, now, output }: GraphCommandContext): Promise<number> {
  const subscriptions = mailbox.manager;
  const stored = await subscriptions.load();
  const lastDelta = await mailbox.lastDeltaCompletedAt();
  if (!stored) {
    output.out(
      'no subscription: the service creates one when it starts, or run `email-connector graph resubscribe`',
    );
    printLastDelta(lastDelta, now(), output);
    return 1;
  }
  let live: GraphSubscription | null;
  try {
    live = await subscriptions.lookUp(stored.id);
  } catch (error) {
    printSubscription(stored, null, subscriptions.resource, subscriptions.notificationUrl, now(), output);
    printLastDelta(lastDelta, now(), output);
    throw error;
  }
  const at = now();
  printSubscription(stored, live, subscriptions.resource, subscriptions.notificationUrl, at, output);
  printLastDelta(lastDelta, at, output);
  if (!live) {
    output.out(
      'Graph no longer knows this subscription (deleted or expired): run `email-connector graph resubscribe`',
    );
    return 1;
  }
  if (Date.parse(live.expirationDateTime) <= at.getTime()) {
    output.out('the subscription has expired: run `email-connector graph resubscribe`');
    return 1;
  }
  return 0;
}

async function renew({ mailbox, now, output }: GraphCommandContext): Promise<void> {
  const subscriptions = mailbox.manager;
  const before = await subscriptions.load();
  if (!before) {
    throw new CliError('graph renew: no subscription to renew: run `email-connector graph resubscribe`');
  }
  const outcome = await subscriptions.renew();
  const after = subscriptions.current as SubscriptionState;
  const expires = `expires ${after.expirationDateTime} (in ${span(Date.parse(after.expirationDateTime) - now().getTime())})`;
  if (outcome === 'renewed') {
    output.out(`renewed subscription ${shortId(after.id)}: ${expires}, was ${before.expirationDateTime}`);
  } else {
    output.out(`subscription ${shortId(before.id)} was gone at Graph: now ${shortId(after.id)}, ${expires}`);
  }
}

async function resubscribe({ mailbox, config, now, output }: GraphCommandContext): Promise<void> {
  const subscriptions = mailbox.manager;
  const deleted = await subscriptions.deleteOurs();
  output.out(
    deleted.length > 0
      ? `deleted subscription ${deleted.map(shortId).join(', ')}`
      : 'Graph had no subscription of ours to delete',
  );
  let created: SubscriptionState;
  try {
    created = await subscriptions.create();
  } catch (error) {
    if (error instanceof GraphRequestError && error.status === 400) {
      // Graph calls the notification URL while it creates the subscription and refuses when nobody answers.
      throw new CliError(
        `graph resubscribe: ${error.message}: Graph could not validate ${subscriptions.notificationUrl}; the service must be running and reachable at PUBLIC_BASE_URL (${config.PUBLIC_BASE_URL}) while the subscription is created. There is no subscription now: start the service (it creates one) or run this again`,
      );
    }
    throw error;
  }
  const left = span(Date.parse(created.expirationDateTime) - now().getTime());
  output.out(
    `created subscription ${shortId(created.id)}: expires ${created.expirationDateTime} (in ${left}), notifications to ${subscriptions.notificationUrl}`,
  );
}

function printSubscription(
  stored: SubscriptionState,
  live: GraphSubscription | null,
  resource: string,
  notificationUrl: string,
  at: Date,
  output: Output,
): void {
  const expiry = live?.expirationDateTime ?? stored.expirationDateTime;
  const left = Date.parse(expiry) - at.getTime();
  const known = live ? 'known to Graph' : 'unknown to Graph';
  output.out(`subscription   ${shortId(stored.id)} (${known})`);
  output.out(`resource       ${live?.resource ?? resource}`);
  output.out(`expires        ${expiry} (${left > 0 ? `in ${span(left)}` : `${span(-left)} ago`})`);
  output.out(`notifications  ${live?.notificationUrl ?? notificationUrl}`);
}

function printLastDelta(lastDelta: string | null, at: Date, output: Output): void {
  const ago = lastDelta ? ` (${span(at.getTime() - Date.parse(lastDelta))} ago)` : '';
  output.out(`last delta     ${lastDelta ?? 'not recorded'}${ago}`);
}

/** Enough of an id to tell subscriptions apart. */
function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

/** A duration as `2d 23h`, `5h 12m`, `3m` or `40s`. */
export function span(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m`;
  return `${seconds}s`;
}
