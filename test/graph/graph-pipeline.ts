import { readFileSync } from 'node:fs';
import { processDeps } from '../../src/composition-root.ts';
import type { CrmImport } from '../../src/crm/crm-import.ts';
import { IntakeWorker } from '../../src/processing/intake-worker.ts';
import { OutboxSender } from '../../src/processing/outbox-sender.ts';
import type { GraphIntakeOptions } from '../../src/mailbox/graph/graph-intake.ts';
import type { StandInOptions } from '../graph-stand-in/graph-stand-in.ts';
import { startHarness, type Harness } from './helpers.ts';

export interface Pipeline extends Harness {
  worker: IntakeWorker;
  outbox: OutboxSender;
}

/**
 * The production path wired by hand (Graph intake → queue → worker → outbox → Graph), the way the composition root
 * wires it when SUPPORT_MAILBOX is set; CRM data from test/fixtures/crm.json. Only `bench/graph-bench.ts` uses it
 * (it counts Graph calls and reads the intake directly); the end-to-end tests run the real `createApp` through
 * `graph-app.ts`.
 */
export async function startPipeline(
  options: {
    standIn?: StandInOptions;
    intake?: Partial<GraphIntakeOptions>;
    config?: Record<string, string>;
  } = {},
): Promise<Pipeline> {
  const harness = await startHarness({
    ...options,
    config: { RETRY_BASE_MS: '20', MAX_ATTEMPTS: '20', AUTO_REPLY_LIMIT_PER_HOUR: '1000', ...options.config },
  });
  const crm = JSON.parse(readFileSync(new URL('../fixtures/crm.json', import.meta.url), 'utf8')) as CrmImport;
  await harness.store.importCrm(crm);
  const deps = processDeps(harness.config, harness.store, harness.logger);
  const outbox = new OutboxSender(harness.store, harness.intake.mailbox, harness.logger);
  const worker = new IntakeWorker(deps, harness.intake.mailbox, outbox, {
    concurrency: 8,
    maxAttempts: harness.config.MAX_ATTEMPTS,
    retryBaseMs: harness.config.RETRY_BASE_MS,
    leaseMs: 30_000,
    pollIntervalMs: 50,
    workerId: 'graph-e2e',
  });
  harness.intake.onEnqueued(() => worker.wake());
  const close = harness.close;
  return {
    ...harness,
    worker,
    outbox,
    close: async () => {
      await worker.stop();
      await close();
    },
  };
}

export { customerMail } from './graph-app.ts';
