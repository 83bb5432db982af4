import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';

/** The attribute every message span carries: the trace of one message can be found by it in any instance. */
export const intakeIdAttribute = 'email_connector.intake_id';

/** Insertion-ordered map that forgets its oldest entries beyond `max`: traces are best effort, memory is not. */
class RecentMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }
}

/**
 * Ties the spans of one message into one trace: `intake enqueue` (under the webhook request when HTTP is traced)
 * is the root, and claim, fetch, process (with its commit) and each send of its mails become its children. The
 * trace context stays in this process, keyed by intake id, mailbox id and outbox id; a message claimed by
 * another instance or after a restart starts a new trace there, found by the same `email_connector.intake_id`.
 */
export class MessageTraces {
  readonly tracer: Tracer;
  readonly #roots = new RecentMap<string, SpanContext>(10_000);
  readonly #intakeOfMailboxId = new RecentMap<string, string>(10_000);
  readonly #rootOfOutboxId = new RecentMap<string, SpanContext>(10_000);
  readonly #processing = new RecentMap<string, Span>(1_000);

  constructor(tracer: Tracer = trace.getTracer('email-connector')) {
    this.tracer = tracer;
  }

  /** Runs `work` in a span under `parent` (default: the active context), ending it with the outcome. */
  async inSpan<T>(
    name: string,
    options: { kind: SpanKind; parent?: Context; attributes?: Attributes; startTime?: number },
    work: (span: Span) => Promise<T>,
  ): Promise<T> {
    const parent = options.parent ?? context.active();
    const span = this.tracer.startSpan(
      name,
      { kind: options.kind, attributes: options.attributes, startTime: options.startTime },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => work(span));
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /** The context under which a message's spans go: its root when this process knows it, else a new trace. */
  contextOf(intakeId: string | null | undefined): Context {
    const root = intakeId ? this.#roots.get(intakeId) : undefined;
    return root ? trace.setSpanContext(ROOT_CONTEXT, root) : ROOT_CONTEXT;
  }

  hasRoot(intakeId: string): boolean {
    return this.#roots.get(intakeId) !== undefined;
  }

  setRoot(intakeId: string, span: Span): void {
    this.#roots.set(intakeId, span.spanContext());
  }

  rememberMailboxId(mailboxId: string, intakeId: string): void {
    this.#intakeOfMailboxId.set(mailboxId, intakeId);
  }

  intakeOfMailboxId(mailboxId: string): string | undefined {
    return this.#intakeOfMailboxId.get(mailboxId);
  }

  /** Mails a commit put in the outbox: their sends join the message's trace. */
  rememberOutbox(outboxIds: readonly string[], intakeId: string | null): void {
    const root = intakeId ? this.#roots.get(intakeId) : undefined;
    if (!root) return;
    for (const id of outboxIds) this.#rootOfOutboxId.set(id, root);
  }

  contextOfOutbox(outboxId: string): Context {
    const root = this.#rootOfOutboxId.get(outboxId);
    return root ? trace.setSpanContext(ROOT_CONTEXT, root) : context.active();
  }

  forgetOutbox(outboxId: string): void {
    this.#rootOfOutboxId.delete(outboxId);
  }

  /** Opens `message process` once the raw message is in hand; it ends with the commit, a retry or quarantine. */
  startProcessing(intakeId: string): void {
    this.#processing.get(intakeId)?.end();
    const span = this.tracer.startSpan(
      'message process',
      { kind: SpanKind.INTERNAL, attributes: { [intakeIdAttribute]: intakeId } },
      this.contextOf(intakeId),
    );
    this.#processing.set(intakeId, span);
  }

  /** The context of the message's open `message process` span, else its root. */
  processingContext(intakeId: string | null): Context {
    const span = intakeId ? this.#processing.get(intakeId) : undefined;
    if (span) return trace.setSpan(ROOT_CONTEXT, span);
    return intakeId ? this.contextOf(intakeId) : context.active();
  }

  /** Ends `message process`: ok with the outcome's attributes, or failed with the reason. */
  endProcessing(intakeId: string | null, result: { attributes?: Attributes; error?: string }): void {
    if (!intakeId) return;
    const span = this.#processing.get(intakeId);
    if (!span) return;
    this.#processing.delete(intakeId);
    if (result.attributes) span.setAttributes(result.attributes);
    if (result.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
    span.end();
  }
}

/** Records a failure by its type and message only: error objects can carry request details. */
export function markFailed(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', error instanceof Error ? error.name : typeof error);
}

export { SpanKind };
