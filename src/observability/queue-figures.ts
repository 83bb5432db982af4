import type { WorkQueue } from '../crm/crm-store.ts';

/** Counting stops here: a queue this long is an alarm whatever the exact figure. */
export const queueCountCap = 10_000;

export interface QueueFigures {
  /** Waiting to be claimed (including those waiting for a retry). */
  pending: number;
  /** Being processed now (claimed under a lease). */
  claimed: number;
  quarantined: number;
  /** When the oldest pending or claimed item was enqueued; null when both are empty. */
  oldestEnqueuedAt: string | null;
  /** A count reached `queueCountCap`: the real figure is at least that. */
  capped: boolean;
}

/** The intake queue as an operator sees it, read through the port (each state's items come oldest first). */
export async function readQueueFigures(queue: Pick<WorkQueue, 'listIntake'>): Promise<QueueFigures> {
  const [pending, claimed, quarantined] = await Promise.all([
    queue.listIntake('pending', queueCountCap),
    queue.listIntake('claimed', queueCountCap),
    queue.listIntake('quarantined', queueCountCap),
  ]);
  const oldest = [pending[0]?.enqueuedAt, claimed[0]?.enqueuedAt]
    .filter((at): at is string => typeof at === 'string')
    .sort()[0];
  return {
    pending: pending.length,
    claimed: claimed.length,
    quarantined: quarantined.length,
    oldestEnqueuedAt: oldest ?? null,
    capped: [pending, claimed, quarantined].some((items) => items.length >= queueCountCap),
  };
}
