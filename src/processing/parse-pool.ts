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
  logger: Logger;
}

interface Pending {
  raw: Buffer;
  resolve: (email: ParsedEmail) => void;
  reject: (error: unknown) => void;
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
 * time; messages wait in order for a free thread. A thread that dies fails the messages it held (the queue
 * tries them again) and is replaced.
 */
export class ParsePool implements MimeParser {
  readonly #threads: number;
  readonly #inlineAboveBytes: number;
  readonly #threadHeapMb: number | undefined;
  readonly #logger: Logger;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, { id: number; pending: Pending }>();
  readonly #waiting: Pending[] = [];
  #started = 0;
  #spawned = 0;
  #nextId = 0;
  #closed = false;

  constructor(options: ParsePoolOptions) {
    this.#threads = Math.max(0, Math.floor(options.threads));
    this.#inlineAboveBytes = options.inlineAboveBytes ?? 4 * 1_048_576;
    this.#threadHeapMb = options.threadHeapMb;
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
    return this.#started;
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
    const held = [...this.#busy.values()].map((job) => job.pending);
    const workers = [...this.#idle.splice(0), ...this.#busy.keys()];
    this.#busy.clear();
    for (const pending of held) parseEmail(pending.raw).then(pending.resolve, pending.reject);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const worker = this.#idle.pop() ?? (this.#started < this.#threads ? this.#spawn() : null);
      if (!worker) return;
      const pending = this.#waiting.shift()!;
      const id = (this.#nextId += 1);
      this.#busy.set(worker, { id, pending });
      worker.ref();
      // A copy of its own that the thread then owns: no second copy on the way.
      const copy = new Uint8Array(pending.raw.length);
      copy.set(pending.raw);
      worker.postMessage({ id, raw: copy }, [copy.buffer]);
    }
  }

  #spawn(): Worker {
    this.#started += 1;
    const worker = new Worker(
      workerUrl,
      this.#threadHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: this.#threadHeapMb } } : {},
    );
    this.#spawned += 1;
    worker.on('message', (reply: Reply) => {
      const job = this.#busy.get(worker);
      if (!job || job.id !== reply.id) return;
      this.#busy.delete(worker);
      this.#idle.push(worker);
      worker.unref();
      if ('error' in reply) {
        const error = reply.error.parse
          ? new MessageParseError(reply.error.message)
          : new Error(reply.error.message);
        job.pending.reject(error);
      } else job.pending.resolve(withRaw(reply.email, job.pending.raw));
      this.#dispatch();
    });
    const lost = (cause: unknown): void => {
      const job = this.#busy.get(worker);
      this.#busy.delete(worker);
      const idle = this.#idle.indexOf(worker);
      if (idle >= 0) this.#idle.splice(idle, 1);
      this.#started -= 1;
      if (this.#closed) return;
      this.#logger.error(
        { err: { message: cause instanceof Error ? cause.message : String(cause) } },
        'a parse thread stopped; starting another',
      );
      job?.pending.reject(new Error(`the parse thread stopped: ${String(cause)}`));
      this.#dispatch();
    };
    worker.on('error', lost);
    // An idle thread never keeps the process alive (unref after the listeners, which would hold it again); a thread
    // with a message does, until it answers.
    worker.unref();
    worker.on('exit', (code) => {
      if (this.#busy.has(worker) || this.#idle.includes(worker)) lost(`exit code ${code}`);
    });
    return worker;
  }
}

/** The thread's result with what stayed here: the raw message (and its hash, computed on first use). */
function withRaw(email: ParsedFields, raw: Buffer): ParsedEmail {
  // Buffers come back from a thread as plain Uint8Arrays.
  const attachments = email.attachments.map((attachment) => ({
    ...attachment,
    content: attachment.content
      ? Buffer.from(attachment.content.buffer, attachment.content.byteOffset, attachment.content.byteLength)
      : null,
  }));
  return withRawMessage({ ...email, attachments }, raw);
}
