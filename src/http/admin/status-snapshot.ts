import type { Config } from '../../config/config.ts';
import { describeConfig } from '../../config/config.ts';
import type { CrmStore, IntakeItem, OutcomeRecord, StoreCounts } from '../../crm/crm-store.ts';
import type { OutcomeAction } from '../../domain/decision.ts';
import type { HealthReport } from '../../processing/intake-health-monitor.ts';
import { outcomeActions } from '../../observability/collect-metrics.ts';
import { graphMailboxStatuses, type GraphMailboxStatus } from '../../observability/graph-mailbox-status.ts';
import { readQueueFigures, type QueueFigures } from '../../observability/queue-figures.ts';

/** Outcomes read per page: the last 24 hours are counted and searched within them. */
export const outcomeWindow = 5_000;
const recentShown = 50;
const quarantineShown = 200;

export interface StatusSources {
  config: Config;
  store: CrmStore;
  /** The mailbox's short name (`local`, `graph`). */
  mailboxName: string;
  graph: { status(): Record<string, unknown>; lastDeltaCompletedAt(): Promise<string | null> } | null;
  health: () => Promise<HealthReport>;
  now: () => Date;
}

export interface StatusSnapshot {
  at: Date;
  health: HealthReport;
  mailboxName: string;
  mailboxDir: string | null;
  pollIntervalMs: number;
  graph: { mailboxes: GraphMailboxStatus[]; lastDeltaCompletedAt: string | null } | null;
  queue: QueueFigures | null;
  last24h: { counts: Map<OutcomeAction, number>; total: number; truncated: boolean } | null;
  search: string;
  recent: OutcomeRecord[];
  quarantine: { item: IntakeItem; outcome: OutcomeRecord | null }[];
  settings: [string, string][];
  store: { counts: StoreCounts | null; nextMailDueAt: string | null };
  /** What could not be read (the database down): each section shows what it has. */
  problems: string[];
}

/** Everything the status page shows, read at once; a failing read leaves its part empty and is named. */
export async function readStatus(sources: StatusSources, search: string): Promise<StatusSnapshot> {
  const { store, config } = sources;
  const at = sources.now();
  const problems: string[] = [];
  const attempt = async <T>(what: string, read: () => Promise<T>): Promise<T | null> => {
    try {
      return await read();
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`);
      return null;
    }
  };
  const [health, queue, outcomes, quarantined, counts, nextMail, lastDelta] = await Promise.all([
    sources.health().catch((error: unknown) => ({
      ok: false,
      checks: { status: `cannot check: ${(error as Error).message}` },
    })),
    attempt('queue', () => readQueueFigures(store)),
    attempt('outcomes', () => store.listOutcomes({ limit: outcomeWindow })),
    attempt('quarantine', () => store.listIntake('quarantined', quarantineShown)),
    attempt('record counts', () => store.counts()),
    attempt('outbox', () => store.nextMailAttemptAt()),
    sources.graph ? attempt('delta', () => sources.graph!.lastDeltaCompletedAt()) : Promise.resolve(null),
  ]);
  const quarantine = await Promise.all(
    (quarantined ?? []).map(async (item) => ({
      item,
      outcome: item.outcomeKey ? await store.findOutcome(item.outcomeKey).catch(() => null) : null,
    })),
  );
  const query = search.trim();
  return {
    at,
    health,
    mailboxName: sources.mailboxName,
    mailboxDir: sources.graph ? null : config.MAILBOX_DIR,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    graph: sources.graph
      ? { mailboxes: graphMailboxStatuses(sources.graph.status()), lastDeltaCompletedAt: lastDelta }
      : null,
    queue,
    last24h: outcomes ? countLastDay(outcomes, at) : null,
    search: query,
    recent: (outcomes ?? []).filter((outcome) => matches(outcome, query)).slice(0, recentShown),
    quarantine,
    settings: settingsInEffect(config),
    store: { counts, nextMailDueAt: nextMail ? nextMail.toISOString() : null },
    problems,
  };
}

function countLastDay(outcomes: OutcomeRecord[], at: Date): NonNullable<StatusSnapshot['last24h']> {
  const since = at.getTime() - 24 * 3_600_000;
  const counts = new Map<OutcomeAction, number>(outcomeActions.map((action) => [action, 0]));
  let total = 0;
  for (const outcome of outcomes) {
    if (Date.parse(outcome.createdAt) < since) break; // newest first
    counts.set(outcome.action, (counts.get(outcome.action) ?? 0) + 1);
    total += 1;
  }
  return { counts, total, truncated: total === outcomes.length && outcomes.length >= outcomeWindow };
}

/** Sender, subject or ticket number; a number matches however it is padded (`42` finds `0000042`). */
export function matches(outcome: OutcomeRecord, query: string): boolean {
  if (query === '') return true;
  const needle = query.toLowerCase();
  if ((outcome.from ?? '').toLowerCase().includes(needle)) return true;
  if (outcome.subject.toLowerCase().includes(needle)) return true;
  if (!outcome.ticketNumber) return false;
  if (outcome.ticketNumber.includes(needle)) return true;
  const digits = /^\D*?0*(\d+)\D*$/.exec(needle)?.[1];
  return digits !== undefined && outcome.ticketNumber.replace(/^0+/, '') === digits;
}

/** Every setting as configured, secrets masked by describeConfig. */
function settingsInEffect(config: Config): [string, string][] {
  return Object.entries(describeConfig(config)).map(([name, value]) => [
    name,
    value === null || value === '' ? '(empty)' : Array.isArray(value) ? value.join(', ') : String(value),
  ]);
}
