import { randomBytes } from 'node:crypto';
import type { FetchOptions } from '@microsoft/microsoft-graph-client';
import type { Config } from '../config/config.ts';
import { causeOf, fail, ok, type Report } from './check.ts';

export const webhookCheck = 'webhook validation';

/** The paths createGraphIntake gives Graph as notificationUrl and lifecycleNotificationUrl. */
const webhookPaths = ['/webhooks/graph', '/webhooks/graph/lifecycle'] as const;

const tlsCodes = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|ERR_TLS_)/;

const reachFix =
  'start the service and make PUBLIC_BASE_URL its public https:// address (App Service: the app URL, HTTPS only, Always On)';
const routeFix =
  'PUBLIC_BASE_URL must lead to this service, which answers at /webhooks/graph (check the address and any proxy in front)';

export interface WebhookCheckInput {
  config: Config;
  /** The dispatcher that Graph calls use (tests: one trusting the test certificate). */
  fetchOptions?: FetchOptions;
  /** Graph gives up after 10 s; default 5 s. */
  timeoutMs?: number;
}

/**
 * Check 10: POSTs what Graph sends when it creates a subscription (`?validationToken=…`) to both webhook URLs and
 * expects Graph's answer: 200, text/plain, the token. Graph sends this while the subscription is created, so a
 * webhook that fails it means no subscription.
 */
export async function checkWebhook(input: WebhookCheckInput, report: Report): Promise<void> {
  const base = input.config.PUBLIC_BASE_URL as string;
  const timeoutMs = input.timeoutMs ?? 5_000;
  if (!base.startsWith('https://')) {
    report(
      fail(
        webhookCheck,
        `${base} is not HTTPS: Graph only calls https:// addresses`,
        'set PUBLIC_BASE_URL to an https:// address',
      ),
    );
    return;
  }
  for (const path of webhookPaths) {
    const url = `${base}${path}`;
    const problem = await validationProblem(url, input.fetchOptions, timeoutMs);
    if (problem) {
      report(fail(webhookCheck, `${url} ${problem.problem}`, problem.fix));
      return;
    }
  }
  report(ok(webhookCheck, `${base}${webhookPaths[0]} and …/lifecycle answer Graph's validation over HTTPS`));
}

async function validationProblem(
  url: string,
  fetchOptions: FetchOptions | undefined,
  timeoutMs: number,
): Promise<{ problem: string; fix: string } | null> {
  // Like Graph's: text that needs URL encoding, so that an endpoint echoing it undecoded is caught.
  const token = `Validation: doctor check ${randomBytes(8).toString('hex')} & done`;
  const target = new URL(url);
  target.searchParams.set('validationToken', token);
  let response: Response;
  let body: string;
  try {
    response = await fetch(target, {
      // The dispatcher (undici) is what Node's fetch takes; Graph's FetchOptions types it differently.
      ...(fetchOptions as RequestInit | undefined),
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: '',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = await response.text();
  } catch (error) {
    return unreachable(error, timeoutMs);
  }
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get('location');
    return {
      problem: `answered HTTP ${response.status} (a redirect${location ? ` to ${location}` : ''})`,
      fix: 'Graph does not follow redirects: set PUBLIC_BASE_URL to the final https:// address',
    };
  }
  if (response.status !== 200)
    return { problem: `answered HTTP ${response.status} instead of 200 with the token`, fix: routeFix };
  const type = response.headers.get('content-type') ?? 'no content type';
  if (!type.toLowerCase().startsWith('text/plain'))
    return { problem: `answered 200 with ${type}, not text/plain`, fix: routeFix };
  if (body !== token) return { problem: 'answered 200 without echoing the validation token', fix: routeFix };
  return null;
}

function unreachable(error: unknown, timeoutMs: number): { problem: string; fix: string } {
  if (error instanceof Error && error.name === 'TimeoutError')
    return { problem: `is unreachable: no answer within ${timeoutMs / 1000} s`, fix: reachFix };
  // fetch reports every network failure as "fetch failed" and keeps the reason in `cause`.
  const cause = (error as { cause?: unknown }).cause ?? error;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string' && tlsCodes.test(code)) {
    return {
      problem: `is not trusted over HTTPS (${code})`,
      fix: 'Graph needs a publicly trusted certificate for that host name (App Service: the default *.azurewebsites.net address, or a custom domain with its certificate bound)',
    };
  }
  return { problem: `is unreachable (${typeof code === 'string' ? code : causeOf(cause)})`, fix: reachFix };
}
