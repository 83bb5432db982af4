import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EnqueuedItem, WorkQueue } from '../../src/crm/crm-store.ts';
import { SqliteCrmStore } from '../../src/crm/sqlite/sqlite-crm-store.ts';
import { EnqueueBatcher } from '../../src/http/enqueue-batcher.ts';

describe('group commit of the intake queue', () => {
  let store: SqliteCrmStore;
  let commits: number[];
  let queue: Pick<WorkQueue, 'enqueueMany'>;

  beforeEach(() => {
    store = SqliteCrmStore.open({ path: ':memory:' });
    commits = [];
    // The real store, with each transaction's size written down.
    queue = {
      enqueueMany: (items, now) => {
        commits.push(items.length);
        return store.enqueueMany(items, now);
      },
    };
  });
  afterEach(async () => {
    await store.close();
  });

  it('commits the enqueues of one burst together, and each caller learns its own item once it is stored', async () => {
    const batcher = new EnqueueBatcher(queue);
    const seen: (string | undefined)[] = [];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        batcher.enqueue({ mailboxId: `AAMk${index}`, source: 'graph' }).then(async (result) => {
          // Resolved only after the commit: the row is there.
          seen.push((await store.findIntake(`AAMk${index}`))?.id);
          return result;
        }),
      ),
    );
    expect(commits).toEqual([40]);
    expect(results.every((result) => result.created)).toBe(true);
    expect(seen.sort()).toEqual(results.map((result) => result.id).sort());
    expect(await store.listIntake('pending', 100)).toHaveLength(40);
  });

  it('answers a message announced twice in one commit with one item, new only the first time', async () => {
    const batcher = new EnqueueBatcher(queue);
    const [first, second] = await Promise.all([
      batcher.enqueue({ mailboxId: 'AAMkSame', source: 'graph' }),
      batcher.enqueue({ mailboxId: 'AAMkSame', source: 'graph' }),
    ]);
    expect(first).toEqual({ id: first!.id, created: true });
    expect(second).toEqual({ id: first!.id, created: false });
    const again = await batcher.enqueue({ mailboxId: 'AAMkSame', source: 'graph' });
    expect(again).toEqual({ id: first!.id, created: false });
  });

  it('keeps later requests for the next commit while one runs, and caps a commit at its batch size', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow: Pick<WorkQueue, 'enqueueMany'> = {
      enqueueMany: async (items, now) => {
        if (commits.length === 0) await held;
        return queue.enqueueMany(items, now);
      },
    };
    const batcher = new EnqueueBatcher(slow, { maxBatch: 3 });
    const first = batcher.enqueue({ mailboxId: 'AAMkA', source: 'graph' });
    await new Promise((resolve) => setImmediate(resolve));
    const later = Array.from({ length: 5 }, (_, index) =>
      batcher.enqueue({ mailboxId: `AAMkL${index}`, source: 'graph' }),
    );
    release();
    await Promise.all([first, ...later]);
    expect(commits).toEqual([1, 3, 2]);
  });

  it('tells every caller of a failed commit, stores none of it, and commits the next burst', async () => {
    let fail = true;
    const flaky: Pick<WorkQueue, 'enqueueMany'> = {
      enqueueMany: async (items, now): Promise<EnqueuedItem[]> => {
        if (fail) throw new Error('database is locked');
        return queue.enqueueMany(items, now);
      },
    };
    const batcher = new EnqueueBatcher(flaky);
    const failed = await Promise.allSettled([
      batcher.enqueue({ mailboxId: 'AAMkF1', source: 'graph' }),
      batcher.enqueue({ mailboxId: 'AAMkF2', source: 'graph' }),
    ]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await store.listIntake('pending', 10)).toEqual([]);
    fail = false;
    expect((await batcher.enqueue({ mailboxId: 'AAMkF1', source: 'graph' })).created).toBe(true);
  });
});
