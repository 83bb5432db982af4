import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadConfig } from '../../src/config/config.ts';
import { openStore, processDeps } from '../../src/composition-root.ts';
import { parseCrmImport } from '../../src/crm/crm-import.ts';
import { processMessage } from '../../src/processing/process-message.ts';
import { seedTestCrm, silentLogger, testEnv } from '../helpers/engine.ts';
import { fixturesDir } from '../helpers/fixtures.ts';
import { mutatedInput } from './mutate.ts';

export interface FuzzOptions {
  seed: number;
  count: number;
  /** The index of the first input (inputs are numbered from 0 per seed); to replay one, give it and count 1. */
  first?: number;
  /** Called every `progressEvery` messages with the figures so far. */
  onProgress?: (figures: FuzzFigures) => void;
  progressEvery?: number;
  /** Where to write the inputs that crashed, for replay; none when absent. */
  crashDir?: string;
  /** A message that takes longer than this is reported as hung and the run goes on. */
  hangMs?: number;
  /** The most bytes one mutation adds; small keeps the CI run fast, large finds what only size shows. */
  maxInsert?: number;
}

export interface FuzzFailure {
  index: number;
  /** The fixture and the damage done to it. */
  description: string;
  problem: string;
  stack?: string;
  file?: string;
}

export interface FuzzFigures {
  seed: number;
  messages: number;
  /** Inputs that differ in content (two mutations can produce the same bytes). */
  distinctInputs: number;
  /** Outcome keys returned; outcomes recorded in the store should be exactly these. */
  distinctKeys: number;
  outcomesRecorded: number;
  crashes: FuzzFailure[];
  /** Messages whose returned outcome is not in the store, or processed twice under one key. */
  withoutOutcome: FuzzFailure[];
  actions: Record<string, number>;
  duplicates: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  slowest: { index: number; description: string; ms: number } | null;
  /** Heap used after a full collection, once warmed up and at the end. */
  heapBaselineMb: number;
  heapEndMb: number;
  peakRssMb: number;
  inputMb: number;
  elapsedS: number;
}

/** Every `.eml` under test/fixtures, as the fuzzer's seed corpus. */
export function fuzzCorpus(): { name: string; raw: Buffer }[] {
  const files = readdirSync(fixturesDir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.eml'))
    .sort();
  return files.map((name) => ({
    name: relative(fixturesDir, join(fixturesDir, name)),
    raw: readFileSync(join(fixturesDir, name)),
  }));
}

/** A full collection, so that heap figures measure what is kept, not what is garbage not yet collected. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const mb = (bytes: number): number => Math.round((bytes / 1_048_576) * 10) / 10;

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/**
 * Runs `count` damaged copies of the fixtures through processMessage, against one real SQLite store seeded
 * with the test CRM, and measures what must hold for any input: no exception escapes, each message ends in
 * exactly one recorded outcome, time per message and memory stay bounded.
 */
export async function runPipelineFuzz(options: FuzzOptions): Promise<FuzzFigures> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'email-connector-fuzz-'));
  const config = loadConfig(
    testEnv(dir, { XML_API_ENABLED: 'true', XML_API_PASSWORD: 's3cret-api', LOG_LEVEL: 'silent' }),
  );
  const store = openStore(config);
  const gc = collectGarbage();
  try {
    await seedTestCrm(store);
    const realWorld = JSON.parse(readFileSync(join(fixturesDir, 'real-world', 'crm.json'), 'utf8'));
    await store.importCrm(parseCrmImport(realWorld));
    const deps = processDeps(config, store, silentLogger());
    const corpus = fuzzCorpus();
    const outcomesBefore = (await store.counts()).outcomes;
    const hangMs = options.hangMs ?? 30_000;
    const progressEvery = options.progressEvery ?? 1_000;
    const warmUp = Math.min(500, Math.floor(options.count / 10));

    const inputs = new Set<string>();
    /** Outcome key → the action first recorded for it. */
    const keys = new Map<string, string>();
    const durations = new Float64Array(options.count);
    const figures: FuzzFigures = {
      seed: options.seed,
      messages: 0,
      distinctInputs: 0,
      distinctKeys: 0,
      outcomesRecorded: 0,
      crashes: [],
      withoutOutcome: [],
      actions: {},
      duplicates: 0,
      p50Ms: 0,
      p99Ms: 0,
      maxMs: 0,
      slowest: null,
      heapBaselineMb: 0,
      heapEndMb: 0,
      peakRssMb: 0,
      inputMb: 0,
      elapsedS: 0,
    };
    const summarise = async (): Promise<void> => {
      const sorted = durations.slice(0, figures.messages).sort();
      figures.p50Ms = percentile(sorted, 0.5);
      figures.p99Ms = percentile(sorted, 0.99);
      figures.maxMs = sorted[sorted.length - 1] ?? 0;
      figures.distinctInputs = inputs.size;
      figures.distinctKeys = keys.size;
      figures.outcomesRecorded = (await store.counts()).outcomes - outcomesBefore;
      figures.peakRssMb = Math.max(figures.peakRssMb, mb(process.memoryUsage().rss));
      figures.elapsedS = Math.round((performance.now() - started) / 100) / 10;
    };

    let inputBytes = 0;
    const first = options.first ?? 0;
    for (let done = 0; done < options.count; done++) {
      const index = first + done;
      if (done === warmUp) {
        gc();
        figures.heapBaselineMb = mb(process.memoryUsage().heapUsed);
      }
      const { raw, description } = mutatedInput(corpus, options.seed, index, options.maxInsert ?? 300_000);
      inputBytes += raw.length;
      inputs.add(createHash('sha256').update(raw).digest('base64'));
      const source = { label: `fuzz-${index}.eml`, intakeId: null };
      const failure = (problem: string, error?: unknown): FuzzFailure => {
        const found: FuzzFailure = { index, description, problem };
        if (error instanceof Error && error.stack) found.stack = error.stack;
        if (options.crashDir) {
          mkdirSync(options.crashDir, { recursive: true });
          found.file = join(options.crashDir, `seed-${options.seed}-input-${index}.eml`);
          writeFileSync(found.file, raw);
        }
        return found;
      };

      const begin = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const result = await Promise.race([
          processMessage(raw, source, deps),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no result after ${hangMs} ms`)), hangMs);
          }),
        ]);
        durations[done] = performance.now() - begin;
        const { key, action } = result.outcome;
        figures.actions[action] = (figures.actions[action] ?? 0) + 1;
        if (result.duplicate) figures.duplicates++;
        const earlier = keys.get(key);
        if (result.duplicate && earlier === undefined)
          figures.withoutOutcome.push(
            failure(`reported as a duplicate of ${key}, which was never processed`),
          );
        if (!result.duplicate && earlier !== undefined && earlier !== 'failed')
          figures.withoutOutcome.push(failure(`processed a second time under ${key}`));
        if (earlier === undefined || earlier === 'failed') keys.set(key, action);
        const recorded = await store.findOutcome(key);
        if (!recorded) figures.withoutOutcome.push(failure(`no outcome recorded under ${key}`));
      } catch (error) {
        durations[done] = performance.now() - begin;
        figures.crashes.push(failure(`exception: ${(error as Error).message}`, error));
      } finally {
        clearTimeout(timer);
      }
      if (!figures.slowest || durations[done]! > figures.slowest.ms)
        figures.slowest = { index, description, ms: Math.round(durations[done]!) };
      figures.messages = done + 1;
      if (options.onProgress && figures.messages % progressEvery === 0) {
        await summarise();
        options.onProgress(figures);
      }
    }
    gc();
    figures.heapEndMb = mb(process.memoryUsage().heapUsed);
    figures.inputMb = mb(inputBytes);
    await summarise();
    await deps.parser?.close();
    return figures;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
