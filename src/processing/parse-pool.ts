import { Worker } from 'node:worker_threads';
import type { ParsedEmail } from '../domain/email.ts';
import type { Logger } from '../log/logger.ts';
import type { MimeParser } from './process-message.ts';
import { MessageParseError, parseEmail, withRawMessage, type ParsedFields } from './parse-email.ts';

export interface ParsePoolOptions {
  /** Threads; 0 parses every message on the calling thread. */
  threads: number;
  /**
   * Messages larger than this are parsed on the calling thread: copying one to a thread costs its size again in
   * memory, and a large message is rare. Default 4 MiB.
   */
  inlineAboveBytes?: number;
  /** Heap limit of each thread in MB; default Node's own. */
  threadHeapMb?: number;
  /**
   * Messages handed to one thread at a time, default 2: the thread starts on the next as soon as it has answered,
   * even while this thread is busy committing and has not yet read its answer.
   */
  perThread?: number;
  logger: Logger;
}

interface Pending {
  raw: Buffer;
  resolve: (email: ParsedEmail) => void;
  reject: (error: unknown) => void;
}

/** A message a thread holds, and the shared buffer it was handed in. */
interface Held {
  pending: Pending;
  slot: SharedArrayBuffer;
}

/** A running thread: the messages it holds, by id, and its shared buffers not holding one now. */
interface Thread {
  jobs: Map<number, Held>;
  freeSlots: SharedArrayBuffer[];
}

type Reply = { id: number; email: ParsedFields } | { id: number; error: { parse: boolean; message: string } };

/** The worker's module beside this one, as it is run: TypeScript sources directly, or the built JavaScript. */
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js',
  import.meta.url,
);

/**
 * Reads MIME on worker threads, so that the event loop stays free for webhooks and database work while a message
 * is parsed, and parsing overlaps with committing the message before it. Each thread parses one message at a
 * time and holds at most `perThread` (the next ones wait in its port); further messages wait here in order. A
 * thread that dies fails the messages it held (the queue tries them again) and is replaced.
 */
export class ParsePool implements MimeParser {
  readonly #threads: number;
  readonly #inlineAboveBytes: number;
  readonly #threadHeapMb: number | undefined;
  readonly #logger: Logger;
  readonly #perThread: number;
  readonly #running = new Map<Worker, Thread>();
  readonly #waiting: Pending[] = [];
  #spawned = 0;
  #nextId = 0;
  #closed = false;

  constructor(options: ParsePoolOptions) {
    this.#threads = Math.max(0, Math.floor(options.threads));
    this.#inlineAboveBytes = options.inlineAboveBytes ?? 4 * 1_048_576;
    this.#threadHeapMb = options.threadHeapMb;
    this.#perThread = Math.max(1, Math.floor(options.perThread ?? 2));
    this.#logger = options.logger;
  }

  /** Reads a message as parseEmail does (same result, same MessageParseError). */
  parse = (raw: Buffer): Promise<ParsedEmail> => {
    if (this.#threads === 0 || this.#closed || raw.length > this.#inlineAboveBytes) return parseEmail(raw);
    return new Promise<ParsedEmail>((resolve, reject) => {
      this.#waiting.push({ raw, resolve, reject });
      this.#dispatch();
    });
  };

  /** Threads running now (started with the first message, replaced when one stops). */
  get threadsRunning(): number {
    return this.#running.size;
  }

  /** Messages handed to threads and not yet answered. */
  get messagesInThreads(): number {
    let held = 0;
    for (const { jobs } of this.#running.values()) held += jobs.size;
    return held;
  }

  /** Buffers shared with the threads to hand them messages: at most `perThread` per thread, each reused. */
  get sharedBuffers(): number {
    let count = 0;
    for (const { jobs, freeSlots } of this.#running.values()) count += jobs.size + freeSlots.length;
    return count;
  }

  /** Threads started so far, replacements included. */
  get threadsStarted(): number {
    return this.#spawned;
  }

  /** Ends the threads; messages still waiting are parsed on the calling thread. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#waiting.splice(0))
      parseEmail(pending.raw).then(pending.resolve, pending.reject);
    const held = [...this.#running.values()].flatMap(({ jobs }) =>
      [...jobs.values()].map((job) => job.pending),
    );
    const workers = [...this.#running.keys()];
    this.#running.clear();
    for (const pending of held) parseEmail(pending.raw).then(pending.resolve, pending.reject);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const worker = this.#leastHeld();
      if (!worker) return;
      const pending = this.#waiting.shift()!;
      const id = (this.#nextId += 1);
      const { jobs, freeSlots } = this.#running.get(worker)!;
      // The message is copied into a buffer shared with the thread, one of `perThread` that each thread reuses:
      // no new memory per message, which would otherwise pile up outside the heaps until the collectors ran. Each
      // is as large as any message handed to a thread (larger ones are parsed here).
      const slot = freeSlots.pop() ?? new SharedArrayBuffer(this.#inlineAboveBytes);
      const view = new Uint8Array(slot, 0, pending.raw.length);
      view.set(pending.raw);
      jobs.set(id, { pending, slot });
      if (jobs.size === 1) worker.ref();
      worker.postMessage({ id, raw: view });
    }
  }

  /** The thread to send the next message to: an idle one, a new one, or the one holding fewest below the limit. */
  #leastHeld(): Worker | null {
    let best: Worker | null = null;
    let fewest = this.#perThread;
    for (const [worker, { jobs }] of this.#running) {
      if (jobs.size === 0) return worker;
      if (jobs.size < fewest) [best, fewest] = [worker, jobs.size];
    }
    if (this.#running.size < this.#threads) return this.#spawn();
    return best;
  }

  #spawn(): Worker {
    const worker = new Worker(
      workerUrl,
      this.#threadHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: this.#threadHeapMb } } : {},
    );
    this.#spawned += 1;
    const thread: Thread = { jobs: new Map(), freeSlots: [] };
    const { jobs } = thread;
    this.#running.set(worker, thread);
    worker.on('message', (reply: Reply) => {
      const job = jobs.get(reply.id);
      if (!job) return;
      const { pending } = job;
      jobs.delete(reply.id);
      // The thread is done with the message's buffer once it has answered.
      thread.freeSlots.push(job.slot);
      if (jobs.size === 0) worker.unref();
      if ('error' in reply) {
        const error = reply.error.parse
          ? new MessageParseError(reply.error.message)
          : new Error(reply.error.message);
        pending.reject(error);
      } else pending.resolve(withRaw(reply.email, pending.raw));
      this.#dispatch();
    });
    const lost = (cause: unknown): void => {
      if (!this.#running.delete(worker)) return;
      if (this.#closed) return;
      this.#logger.error(
        { err: { message: cause instanceof Error ? cause.message : String(cause) } },
        'a parse thread stopped; starting another',
      );
      for (const { pending } of jobs.values())
        pending.reject(new Error(`the parse thread stopped: ${String(cause)}`));
      this.#dispatch();
    };
    worker.on('error', lost);
    // An idle thread never keeps the process alive (unref after the listeners, which would hold it again); a thread
    // with a message does, until it answers.
    worker.unref();
    worker.on('exit', (code) => lost(`exit code ${code}`));
    return worker;
  }
}

/** The thread's result with what stayed here: the raw message (and its hash, computed on first use). */
function withRaw(email: ParsedFields, raw: Buffer): ParsedEmail {
  // Buffers come back from a thread as plain Uint8Arrays.
  const attachments = email.attachments.map((attachment) => ({
    ...attachment,
    content: !attachment.content
      ? null
      : attachment.content.buffer instanceof SharedArrayBuffer
        ? Buffer.from(attachment.content) // a view of a buffer the pool reuses: copied out
        : Buffer.from(
            attachment.content.buffer,
            attachment.content.byteOffset,
            attachment.content.byteLength,
          ),
  }));
  return withRawMessage({ ...email, attachments }, raw);
}
