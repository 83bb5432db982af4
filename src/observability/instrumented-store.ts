import type { CrmStore } from '../crm/crm-store.ts';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { intakeIdAttribute, markFailed, SpanKind, type MessageTraces } from './message-traces.ts';
import type { ServiceMetrics } from './service-metrics.ts';

/**
 * The store with the message's steps traced and counted: enqueue (the trace's root), claim, commit, retry and
 * quarantine. Everything else passes through untouched. A decorator keeps tracing out of the processing code.
 */
export function instrumentStore(store: CrmStore, traces: MessageTraces, metrics: ServiceMetrics): CrmStore {
  const wrapped: Partial<CrmStore> = {
    enqueue: (item) =>
      traces.inSpan(
        'intake enqueue',
        { kind: SpanKind.PRODUCER, attributes: { 'email_connector.source': item.source } },
        async (span) => {
          const result = await store.enqueue(item);
          span.setAttributes({
            [intakeIdAttribute]: result.item.id,
            'email_connector.enqueue.created': result.created,
          });
          // A repeated announcement of a known message keeps the first trace.
          if (result.created || !traces.hasRoot(result.item.id)) traces.setRoot(result.item.id, span);
          return result;
        },
      ),

    /**
     * One `intake enqueue` span per message, each its trace's root. A group commit holds several requests'
     * messages: a lone message's span sits under the request that sent it; in a larger commit each starts
     * its own trace, linked to the request that opened the commit.
     */
    async enqueueMany(items, now) {
      const active = context.active();
      const opener = trace.getSpanContext(active);
      const parent = items.length === 1 ? active : ROOT_CONTEXT;
      const spans = items.map((item) =>
        traces.tracer.startSpan(
          'intake enqueue',
          {
            kind: SpanKind.PRODUCER,
            attributes: { 'email_connector.source': item.source },
            ...(items.length > 1 && opener ? { links: [{ context: opener }] } : {}),
          },
          parent,
        ),
      );
      try {
        const results = await store.enqueueMany(items, now);
        results.forEach((result, index) => {
          const span = spans[index]!;
          span.setAttributes({
            [intakeIdAttribute]: result.id,
            'email_connector.enqueue.created': result.created,
          });
          if (result.created || !traces.hasRoot(result.id)) traces.setRoot(result.id, span);
        });
        return results;
      } catch (error) {
        for (const span of spans) markFailed(span, error);
        throw error;
      } finally {
        for (const span of spans) span.end();
      }
    },

    async claimIntake(options) {
      const startTime = Date.now();
      const items = await store.claimIntake(options);
      for (const item of items) {
        traces.rememberMailboxId(item.mailboxId, item.id);
        const span = traces.tracer.startSpan(
          'intake claim',
          {
            kind: SpanKind.CONSUMER,
            startTime,
            attributes: { [intakeIdAttribute]: item.id, 'email_connector.attempts': item.attempts },
          },
          traces.contextOf(item.id),
        );
        // Claimed by this process without its enqueue (another instance, a restart): this trace starts here.
        if (!traces.hasRoot(item.id)) traces.setRoot(item.id, span);
        span.end();
      }
      return items;
    },

    commitProcessing: (commit) =>
      traces.inSpan(
        'outcome commit',
        {
          kind: SpanKind.INTERNAL,
          parent: traces.processingContext(commit.intakeId),
          attributes: {
            ...(commit.intakeId ? { [intakeIdAttribute]: commit.intakeId } : {}),
            'email_connector.outcome.action': commit.outcome.action,
            'email_connector.outcome.code': commit.outcome.code,
            'email_connector.outgoing_mails': commit.outgoing.length,
          },
        },
        async (span) => {
          const result = await store.commitProcessing(commit);
          span.setAttribute('email_connector.outcome.duplicate', result.duplicate);
          if (!result.duplicate) metrics.recordOutcome(result.outcome.action);
          traces.rememberOutbox(
            commit.outgoing.map((mail) => mail.id),
            commit.intakeId,
          );
          traces.endProcessing(commit.intakeId, {
            attributes: {
              'email_connector.outcome.action': result.outcome.action,
              'email_connector.outcome.code': result.outcome.code,
            },
          });
          return result;
        },
      ),

    async retryIntake(id, workerId, error, retryAt) {
      traces.endProcessing(id, { error: `will retry: ${error}` });
      return store.retryIntake(id, workerId, error, retryAt);
    },

    async quarantineIntake(id, workerId, error, outcomeKey) {
      traces.endProcessing(id, { error: `quarantined: ${error}` });
      await store.quarantineIntake(id, workerId, error, outcomeKey);
      metrics.recordQuarantine();
    },
  };
  return new Proxy(store, {
    get(target, property) {
      if (Object.hasOwn(wrapped, property)) return wrapped[property as keyof CrmStore];
      const value: unknown = Reflect.get(target, property, target);
      // Adapters keep their state in private fields: their methods must run on the adapter itself.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
