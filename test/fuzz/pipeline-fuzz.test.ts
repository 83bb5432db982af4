import { describe, expect, it } from 'vitest';
import { runPipelineFuzz } from './pipeline-fuzzer.ts';

// Fixed, so that a failure names an input anyone can replay: `npm run fuzz -- --seed 20261116 --max-insert 16384 --from N --count 1`.
const seed = 20_261_116;
const count = 10_000;

describe('the pipeline under damaged real-world mail', () => {
  it('ends each of 10,000 damaged messages in exactly one outcome, with no exception, in bounded time and memory', async () => {
    const figures = await runPipelineFuzz({ seed, count, maxInsert: 16_384 });

    expect(figures.messages).toBe(count);
    expect(figures.crashes.slice(0, 5)).toEqual([]);
    expect(figures.withoutOutcome.slice(0, 5)).toEqual([]);
    // One outcome per key: identical inputs, and damaged copies of one Message-ID, share theirs.
    expect(figures.outcomesRecorded).toBe(figures.distinctKeys);
    expect(figures.distinctKeys).toBeLessThanOrEqual(figures.distinctInputs);
    expect(figures.maxMs).toBeLessThan(2_000);
    expect(figures.heapEndMb - figures.heapBaselineMb).toBeLessThan(64);
    // The damage leaves enough readable mail for every decision path to be exercised.
    for (const action of ['ticket-created', 'filed', 'forwarded', 'ignored', 'api'])
      expect(figures.actions[action] ?? 0, action).toBeGreaterThan(0);
  }, 240_000);
});
