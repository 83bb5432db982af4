import type { Config } from '../config/config.ts';
import { GraphRequestError } from '../composition-root.ts';
import { MailboxError } from '../mailbox/mailbox-error.ts';
import { CliError } from './output.ts';

/** What a refused Graph call was trying to do, to name the permission it needs. */
export interface Attempted {
  /** For the message, e.g. `send as`, `watch`. */
  action: string;
  /** The Graph application permission that allows it, e.g. `Mail.Send`. */
  permission: string;
}

/**
 * Turns a mailbox failure into one line an operator can act on (a CliError, exit 1); anything else is a fault of
 * the program and is rethrown with its stack.
 */
export function mailboxFailure(
  command: string,
  error: unknown,
  config: Config,
  attempted: Attempted,
): CliError {
  if (!(error instanceof MailboxError)) throw error;
  return new CliError(`${command}: ${explain(error, config, attempted)}`);
}

function explain(error: MailboxError, config: Config, attempted: Attempted): string {
  const mailbox = config.SUPPORT_MAILBOX ?? '';
  if (!(error instanceof GraphRequestError)) return error.message;
  const answer = error.message;
  if (error.status === 401) {
    return `${answer}: Graph did not accept the app's token: check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and the credential GRAPH_AUTH names`;
  }
  if (error.status === 403) {
    return `${answer}: the app may not ${attempted.action} SUPPORT_MAILBOX (${mailbox}): grant ${attempted.permission} for that mailbox (docs/graph.md, Setup)`;
  }
  if (error.kind === 'throttled') {
    const wait = error.retryAfterMs === null ? '' : ` in ${Math.ceil(error.retryAfterMs / 1000)} s`;
    return `${answer}: Graph is throttling requests for ${mailbox}: try again${wait}`;
  }
  if (error.status === null) {
    return `${answer}: check the network, GRAPH_BASE_URL and the credential GRAPH_AUTH names`;
  }
  return answer;
}
