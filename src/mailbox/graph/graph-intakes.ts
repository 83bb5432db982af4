import { supportMailboxes } from '../../config/config.ts';
import { createGraphWebhookRouter } from '../../http/graph-webhook.ts';
import { RejectionLog } from '../../http/rejection-log.ts';
import { MailboxSet } from '../mailbox-set.ts';
import { createGraphCredential } from './graph-credential.ts';
import {
  createGraphIntake,
  type GraphIntake,
  type GraphIntakeOptions,
  type IntakeHealth,
  type MailboxIntake,
} from './graph-intake.ts';

/**
 * The Graph intake of every mailbox SUPPORT_MAILBOX names. One mailbox: its intake, exactly as before. Several: an
 * intake each, with its own subscription, Processed/Failed folders, delta state, leases, request slots and
 * throttling gate (Graph throttles per app and mailbox), behind one notification URL that hands each item to the
 * mailbox whose subscription id it carries, and one MailboxSet over their mailboxes. The first mailbox keeps the
 * state keys and queue ids it had alone, so adding a second one neither re-subscribes nor re-reads the first.
 */
export function createGraphIntakes(options: GraphIntakeOptions): GraphIntake {
  const addresses = supportMailboxes(options.config);
  if (addresses.length <= 1) return createGraphIntake(options);
  // One token serves every mailbox.
  const credential = options.credential ?? createGraphCredential(options.config);
  const intakes = addresses.map((address): MailboxIntake =>
    createGraphIntake({
      ...options,
      credential,
      mailbox: address,
      queueIdOf: (messageId: string): string => mailbox.idFor(address, messageId),
    }),
  );
  const mailbox: MailboxSet = new MailboxSet(
    intakes.map((intake, index) => ({ address: addresses[index] as string, mailbox: intake.mailbox })),
  );
  const rejections = new RejectionLog(options.logger.child({ component: 'graph-webhook' }));
  const router = createGraphWebhookRouter({
    store: options.store,
    logger: options.logger,
    rejections,
    clientState: options.config.GRAPH_CLIENT_STATE,
    now: options.now,
    targets: intakes.map((intake) => intake.webhookTarget),
  });

  return {
    mailbox,
    router,
    get graphRequests() {
      return intakes.reduce((sum, intake) => sum + intake.graphRequests, 0);
    },
    subscriptions: intakes.flatMap((intake) => intake.subscriptions),
    /** The oldest of the mailboxes' last catch-ups: null until each has completed one. */
    async lastDeltaCompletedAt() {
      const times = await Promise.all(intakes.map((intake) => intake.lastDeltaCompletedAt()));
      if (times.some((time) => time === null)) return null;
      return (times as string[]).sort()[0] ?? null;
    },
    async start() {
      await Promise.all(intakes.map((intake) => intake.start()));
    },
    async stop() {
      rejections.stop();
      await Promise.all(intakes.map((intake) => intake.stop()));
    },
    status() {
      return {
        mailboxes: intakes.map((intake) => intake.status()),
        graphRequests: intakes.reduce((sum, intake) => sum + intake.graphRequests, 0),
      };
    },
    async health(): Promise<IntakeHealth> {
      const reports = await Promise.all(intakes.map((intake) => intake.health()));
      const checks: Record<string, string> = {};
      reports.forEach((report, index) => {
        for (const [name, result] of Object.entries(report.checks)) {
          // One credential for all mailboxes: one check, showing the first problem any mailbox met.
          if (name === 'graph-credential') {
            if (checks[name] === undefined || checks[name] === 'ok') checks[name] = result;
          } else checks[`${name}:${addresses[index]}`] = result;
        }
      });
      return { ok: Object.values(checks).every((result) => result === 'ok'), checks };
    },
    onEnqueued(cb) {
      for (const intake of intakes) intake.onEnqueued(cb);
    },
  };
}
