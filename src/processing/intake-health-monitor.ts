import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { CrmStore, NewOutgoingMail } from '../crm/crm-store.ts';
import { outsideLogContext, type Logger } from '../log/logger.ts';
import { composeMail } from './compose-mail.ts';
import { newMessageId } from './thread-reference.ts';

/** Each check's name mapped to `ok` or its problem (never a secret); `ok` when every check is. */
export interface HealthReport {
  ok: boolean;
  checks: Record<string, string>;
}

/** The checks behind /readyz and the monitor: the database, then the intake's own (Graph: credential, subscription). */
export async function checkServiceHealth(
  store: CrmStore,
  intake: { health(): Promise<HealthReport> } | null,
): Promise<HealthReport> {
  const checks: Record<string, string> = {
    database: await store.ping().then(
      () => 'ok',
      (error: unknown) => `unreachable: ${describe(error)}`,
    ),
  };
  if (intake) {
    const health = await intake.health().catch((error: unknown): HealthReport => ({
      ok: false,
      checks: { intake: `cannot check: ${describe(error)}` },
    }));
    Object.assign(checks, health.checks);
  }
  return { ok: Object.values(checks).every((result) => result === 'ok'), checks };
}

export interface IntakeHealthMonitorOptions {
  store: CrmStore;
  logger: Logger;
  /** The health to watch; the service passes the checks /readyz shows. */
  check: () => Promise<HealthReport>;
  /** The notices' sender. */
  supportAddress: string;
  /** Who is told. */
  internalSupportAddress: string;
  /** Called after a notice was queued, e.g. to wake the outbox. */
  onNoticeQueued?: () => void;
  /** Between two checks, and before the first; default 3 minutes. */
  intervalMs?: number;
  now?: () => Date;
  newId?: () => string;
  /** Identifies this instance in the lease; default a random id. */
  instanceId?: string;
}

/** The shared record of the last transition, in the store's state table. */
interface IntakeCondition {
  state: 'ok' | 'broken';
  since: string;
  /** The failing checks when it broke. */
  checks?: Record<string, string>;
}

const stateKey = 'intake-health';
const leaseName = 'intake-health-monitor';

/**
 * Watches intake health and tells internal support once when it breaks and once when it recovers. Several
 * instances on one database share one record of the state: only the lease holder checks, and a notice is queued
 * in the same transaction that records the transition, so each transition brings exactly one notice. Notices go
 * through the outbox like any mail: while sending is what broke, they wait there.
 */
export class IntakeHealthMonitor {
  readonly #o: IntakeHealthMonitorOptions;
  readonly #intervalMs: number;
  readonly #owner: string;
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<HealthReport | null> | null = null;

  constructor(options: IntakeHealthMonitorOptions) {
    this.#o = options;
    this.#intervalMs = options.intervalMs ?? 3 * 60_000;
    this.#owner = options.instanceId ?? randomUUID();
    this.#now = options.now ?? (() => new Date());
  }

  /** Checks every interval, the first time one interval after start (start-up gets time to settle). */
  start(): void {
    if (this.#timer) return;
    this.#schedule();
  }

  /** Stops the checks, waits for a running one, and hands the lease on. */
  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => null);
    await this.#o.store.releaseLease(leaseName, this.#owner).catch(() => undefined);
  }

  /** One check now, as the timer runs it; null when another instance holds the lease (it checks instead). */
  checkNow(): Promise<HealthReport | null> {
    this.#running ??= this.#check().finally(() => (this.#running = null));
    return this.#running;
  }

  #schedule(): void {
    this.#timer = outsideLogContext(() =>
      setTimeout(() => {
        void this.checkNow()
          .catch((error: unknown) =>
            this.#o.logger.warn({ err: { message: describe(error) } }, 'intake health check failed'),
          )
          .finally(() => {
            if (this.#timer) this.#schedule();
          });
      }, this.#intervalMs),
    );
    this.#timer.unref();
  }

  async #check(): Promise<HealthReport | null> {
    const { store } = this.#o;
    const leaseMs = Math.max(3 * this.#intervalMs, 60_000);
    if (!(await store.acquireLease(leaseName, this.#owner, leaseMs, this.#now()))) return null;
    const report = await this.#o.check();
    const recorded = await store.getState(stateKey);
    const previous = parseCondition(recorded);
    if (report.ok === (previous.state === 'ok')) return report;

    const now = this.#now();
    const failing = Object.fromEntries(Object.entries(report.checks).filter(([, result]) => result !== 'ok'));
    const next: IntakeCondition = report.ok
      ? { state: 'ok', since: now.toISOString() }
      : { state: 'broken', since: now.toISOString(), checks: failing };
    const mail = report.ok
      ? await this.#recoveryNotice(previous, now)
      : await this.#brokenNotice(failing, now);
    const queued = await store.queueNotice(mail, {
      key: stateKey,
      expected: recorded,
      value: JSON.stringify(next),
    });
    if (!queued) return report; // another instance recorded this transition first
    if (report.ok)
      this.#o.logger.info(
        { brokenSince: previous.since },
        'mail intake works again; internal support is told',
      );
    else this.#o.logger.error({ checks: failing }, 'mail intake is broken; internal support is told');
    this.#o.onNoticeQueued?.();
    return report;
  }

  async #brokenNotice(failing: Record<string, string>, now: Date): Promise<NewOutgoingMail> {
    const subject = `[Email Connector] Mail intake is broken: ${Object.keys(failing).join(', ')}`;
    const text = [
      `Mail intake stopped working at ${now.toISOString()} (noticed on ${hostname()}).`,
      '',
      'Failing checks:',
      ...Object.entries(failing).map(([name, result]) => `  ${name}: ${result}`),
      '',
      `Until this is fixed, new mail to ${this.#o.supportAddress} is processed late or not at all. It stays in`,
      'the mailbox and the catch-up finds it once intake works again: nothing is lost.',
      '',
      "What to check: run `email-connector doctor` with the service's configuration. It tests the database, the",
      'Graph credential and permissions, and the subscription one by one. GET /readyz shows the same checks.',
      '',
      'This notice waited in the outbox: while sending through the mailbox is broken too, it is sent only once',
      'sending works again, so it can arrive late, together with the notice that intake works again.',
    ].join('\n');
    return this.#notice(subject, text);
  }

  async #recoveryNotice(previous: IntakeCondition, now: Date): Promise<NewOutgoingMail> {
    const since = Date.parse(previous.since);
    const lasted = Number.isNaN(since) ? '' : ` (${formatDuration(now.getTime() - since)})`;
    const text = [
      `Mail intake works again since ${now.toISOString()} (noticed on ${hostname()}).`,
      '',
      `It was broken from ${previous.since}${lasted}; the checks that failed then:`,
      ...Object.entries(previous.checks ?? {}).map(([name, result]) => `  ${name}: ${result}`),
      '',
      'Mail that arrived meanwhile is picked up by the catch-up; `email-connector outcomes` shows what happened',
      'to it. The notice about the breakage, if it has not arrived, was waiting in the outbox and is sent now.',
    ].join('\n');
    return this.#notice('[Email Connector] Mail intake works again', text);
  }

  async #notice(subject: string, text: string): Promise<NewOutgoingMail> {
    const { supportAddress, internalSupportAddress } = this.#o;
    const messageId = newMessageId(supportAddress);
    const mime = await composeMail({
      from: supportAddress,
      to: [internalSupportAddress],
      subject,
      text,
      messageId,
      date: this.#now(),
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Email-Connector': 'notice' },
    });
    return {
      id: (this.#o.newId ?? randomUUID)(),
      kind: 'notice',
      to: [internalSupportAddress],
      subject,
      messageId,
      referenceToken: null,
      ticketId: null,
      mime,
      aboutSender: null,
    };
  }
}

/** No record yet means intake was never seen broken. */
function parseCondition(raw: string | null): IntakeCondition {
  if (!raw) return { state: 'ok', since: '' };
  try {
    const parsed = JSON.parse(raw) as Partial<IntakeCondition>;
    if (parsed.state === 'ok' || parsed.state === 'broken')
      return { since: '', ...parsed, state: parsed.state };
  } catch {
    // A damaged record is treated as no record: at worst one notice too many.
  }
  return { state: 'ok', since: '' };
}

function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
