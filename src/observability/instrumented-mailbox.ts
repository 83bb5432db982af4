import type { Mailbox } from '../mailbox/mailbox.ts';
import { intakeIdAttribute, SpanKind, type MessageTraces } from './message-traces.ts';
import type { ServiceMetrics } from './service-metrics.ts';

/** The mailbox with fetch, send and settle traced under their message, and sends counted. */
export function instrumentMailbox(mailbox: Mailbox, traces: MessageTraces, metrics: ServiceMetrics): Mailbox {
  const attributesOf = (mailboxId: string) => {
    const intakeId = traces.intakeOfMailboxId(mailboxId);
    return { intakeId, attributes: intakeId ? { [intakeIdAttribute]: intakeId } : {} };
  };
  const wrapped: Partial<Mailbox> = {
    fetchRaw(mailboxId, options) {
      const { intakeId, attributes } = attributesOf(mailboxId);
      return traces.inSpan(
        'message fetch',
        {
          kind: SpanKind.CLIENT,
          parent: traces.contextOf(intakeId),
          attributes: { ...attributes, 'email_connector.mailbox': mailbox.name },
        },
        async (span) => {
          const raw = await mailbox.fetchRaw(mailboxId, options);
          span.setAttribute('email_connector.message.bytes', raw.length);
          if (intakeId) traces.startProcessing(intakeId);
          return raw;
        },
      );
    },

    send(mime, options) {
      return traces.inSpan(
        'mail send',
        {
          kind: SpanKind.CLIENT,
          parent: traces.contextOfOutbox(options.outboxId),
          attributes: {
            'email_connector.outbox_id': options.outboxId,
            'email_connector.mailbox': mailbox.name,
          },
        },
        async () => {
          try {
            await mailbox.send(mime, options);
            metrics.recordSend(true);
            traces.forgetOutbox(options.outboxId);
          } catch (error) {
            metrics.recordSend(false);
            throw error;
          }
        },
      );
    },

    settle(mailboxId, folder) {
      const { intakeId, attributes } = attributesOf(mailboxId);
      return traces.inSpan(
        'message settle',
        {
          kind: SpanKind.CLIENT,
          parent: traces.contextOf(intakeId),
          attributes: { ...attributes, 'email_connector.folder': folder },
        },
        () => mailbox.settle(mailboxId, folder),
      );
    },
  };
  return new Proxy(mailbox, {
    get(target, property) {
      if (Object.hasOwn(wrapped, property)) return wrapped[property as keyof Mailbox];
      const value: unknown = Reflect.get(target, property, target);
      // Adapters keep their state in private fields: their methods must run on the adapter itself.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
