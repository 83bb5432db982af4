import type { CrmStore } from '../../crm/crm-store.ts';
import type { Logger } from '../../log/logger.ts';
import { GraphRequestError } from './graph-error.ts';
import { segment, type GraphApi } from './graph-api.ts';

export interface InboxDeltaOptions {
  api: GraphApi;
  store: CrmStore;
  logger: Logger;
  mailbox: string;
  now: () => Date;
  /** How far before the last completed catch-up a restarted delta looks; default 24 h. */
  resetMarginMs?: number;
  /** The intake queue's id for a message found; default its Graph id (several mailboxes: it names the mailbox). */
  queueIdOf?: (messageId: string) => string;
}

interface DeltaPage {
  value: ({ id: string } & Record<string, unknown>)[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

export interface DeltaResult {
  seen: number;
  created: number;
  restarted: boolean;
}

/**
 * Catch-up of the inbox with a delta query: finds every message that no notification announced.
 * The queue de-duplicates, so enqueueing a message a notification already brought is harmless.
 */
export class InboxDelta {
  readonly #o: InboxDeltaOptions;
  readonly #linkKey: string;
  readonly #completedKey: string;

  constructor(options: InboxDeltaOptions) {
    this.#o = options;
    const mailbox = options.mailbox.toLowerCase();
    this.#linkKey = `graph.delta-link:${mailbox}:inbox`;
    this.#completedKey = `graph.delta-completed:${mailbox}:inbox`;
  }

  async run(onCreated?: () => void): Promise<DeltaResult> {
    const startedAt = this.#o.now();
    const result: DeltaResult = { seen: 0, created: 0, restarted: false };
    let path = (await this.#o.store.getState(this.#linkKey)) ?? this.#initialPath(null);
    for (;;) {
      let page: DeltaPage;
      try {
        page = await this.#o.api.call<DeltaPage>({ method: 'GET', path, what: 'inbox delta', retries: 3 });
      } catch (error) {
        if (result.restarted || !isSyncReset(error)) throw error;
        // The sync state expired: start over, but only from a baseline instead of the whole inbox history.
        result.restarted = true;
        await this.#o.store.setState(this.#linkKey, null);
        path = this.#initialPath(await this.#baseline());
        this.#o.logger.warn({ baseline: path.includes('$filter') }, 'delta sync state lost: starting over');
        continue;
      }
      for (const item of page.value) {
        if ('@removed' in item || typeof item.id !== 'string') continue;
        result.seen += 1;
        const { created } = await this.#o.store.enqueue({
          mailboxId: this.#o.queueIdOf?.(item.id) ?? item.id,
          source: 'graph',
          now: this.#o.now(),
        });
        if (created) {
          result.created += 1;
          onCreated?.();
        }
      }
      const next = page['@odata.nextLink'];
      if (next) {
        path = next;
        continue;
      }
      const deltaLink = page['@odata.deltaLink'];
      if (!deltaLink)
        throw new GraphRequestError('permanent', 'Graph delta page had neither nextLink nor deltaLink', {
          status: null,
          code: null,
          cause: null,
        });
      await this.#o.store.setState(this.#linkKey, deltaLink);
      await this.#o.store.setState(this.#completedKey, startedAt.toISOString());
      return result;
    }
  }

  async #baseline(): Promise<Date> {
    const completed = await this.#o.store.getState(this.#completedKey);
    const from = completed ? Date.parse(completed) : this.#o.now().getTime();
    return new Date(from - (this.#o.resetMarginMs ?? 24 * 3_600_000));
  }

  #initialPath(baseline: Date | null): string {
    const base = `/users/${segment(this.#o.mailbox)}/mailFolders('Inbox')/messages/delta?$select=id`;
    if (!baseline) return base;
    return `${base}&$filter=${encodeURIComponent(`receivedDateTime ge ${baseline.toISOString()}`)}`;
  }
}

function isSyncReset(error: unknown): boolean {
  if (!(error instanceof GraphRequestError)) return false;
  return error.status === 410 || /syncStateNotFound|syncStateInvalid|resyncRequired/i.test(error.code ?? '');
}
