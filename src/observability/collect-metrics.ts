import type { WorkQueue } from '../crm/crm-store.ts';
import type { OutcomeAction } from '../domain/decision.ts';
import type { HealthReport } from '../processing/intake-health-monitor.ts';
import { graphMailboxStatuses } from './graph-mailbox-status.ts';
import type { MetricFamily } from './prometheus-text.ts';
import { readQueueFigures } from './queue-figures.ts';
import type { ServiceMetrics } from './service-metrics.ts';

/** Every outcome action, so that each series exists from the start (a rate over a missing series shows nothing). */
export const outcomeActions: readonly OutcomeAction[] = [
  'ticket-created',
  'filed',
  'forwarded',
  'ignored',
  'failed',
  'api',
];

export interface MetricsSources {
  metrics: ServiceMetrics;
  queue: Pick<WorkQueue, 'listIntake'>;
  /** The Graph intake, or null on the local folder. */
  graph: { status(): Record<string, unknown>; readonly graphRequests: number } | null;
  /** Graph answers with HTTP 429 so far (the Graph adapter counts them for the process). */
  graphThrottles: () => number;
  /** The readiness checks. */
  health: () => Promise<HealthReport>;
  now?: () => Date;
}

/** The counters of this process and the gauges read now: what GET /metrics exposes. */
export async function collectMetrics(sources: MetricsSources): Promise<MetricFamily[]> {
  const now = (sources.now ?? (() => new Date()))().getTime();
  const { metrics } = sources;
  const [queue, health] = await Promise.all([
    readQueueFigures(sources.queue),
    sources.health().catch((error: unknown) => ({
      ok: false,
      checks: { metrics: `cannot check: ${(error as Error).message}` },
    })),
  ]);
  const families: MetricFamily[] = [
    {
      name: 'email_connector_messages_total',
      help: 'Messages whose outcome this process recorded, by outcome action.',
      type: 'counter',
      samples: outcomeActions.map((action) => ({
        labels: { action },
        value: metrics.outcomes.get(action) ?? 0,
      })),
    },
    {
      name: 'email_connector_quarantined_total',
      help: 'Messages this process quarantined after their last attempt.',
      type: 'counter',
      samples: [{ value: metrics.quarantined }],
    },
    {
      name: 'email_connector_mail_sent_total',
      help: 'Mails (acknowledgments, forwards, responses, notices) the mailbox accepted from this process.',
      type: 'counter',
      samples: [{ value: metrics.mailSent }],
    },
    {
      name: 'email_connector_mail_send_failures_total',
      help: 'Send attempts of this process that the mailbox refused or that failed on the way.',
      type: 'counter',
      samples: [{ value: metrics.sendFailures }],
    },
    {
      name: 'email_connector_queue_depth',
      help: 'Intake queue items by state (counted up to 10000).',
      type: 'gauge',
      samples: (['pending', 'claimed', 'quarantined'] as const).map((state) => ({
        labels: { state },
        value: queue[state],
      })),
    },
    {
      name: 'email_connector_queue_oldest_age_seconds',
      help: 'Age of the oldest pending or claimed intake item; 0 when the queue is empty.',
      type: 'gauge',
      samples: [
        {
          value: queue.oldestEnqueuedAt
            ? Math.max(0, Math.round((now - Date.parse(queue.oldestEnqueuedAt)) / 1000))
            : 0,
        },
      ],
    },
    {
      name: 'email_connector_ready',
      help: 'Whether every readiness check passes (1) or not (0), as GET /readyz answers.',
      type: 'gauge',
      samples: [{ value: health.ok ? 1 : 0 }],
    },
    {
      name: 'email_connector_check_ok',
      help: 'Each readiness check: 1 ok, 0 failing.',
      type: 'gauge',
      samples: Object.entries(health.checks).map(([check, result]) => ({
        labels: { check },
        value: result === 'ok' ? 1 : 0,
      })),
    },
  ];
  if (sources.graph) {
    const mailboxes = graphMailboxStatuses(sources.graph.status());
    families.push(
      {
        name: 'email_connector_graph_requests_total',
        help: 'Microsoft Graph requests sent by this process, every attempt counted.',
        type: 'counter',
        samples: [{ value: sources.graph.graphRequests }],
      },
      {
        name: 'email_connector_graph_throttled_total',
        help: 'Microsoft Graph answers with HTTP 429 (throttled) received by this process.',
        type: 'counter',
        samples: [{ value: sources.graphThrottles() }],
      },
      {
        name: 'email_connector_subscription_seconds_left',
        help: 'Seconds until the Graph subscription of each mailbox expires; negative once expired, absent when there is none.',
        type: 'gauge',
        samples: mailboxes
          .filter((entry) => entry.subscriptionExpiresAt !== null)
          .map((entry) => ({
            labels: { mailbox: entry.mailbox },
            value: Math.round((Date.parse(entry.subscriptionExpiresAt as string) - now) / 1000),
          })),
      },
    );
  }
  return families;
}
