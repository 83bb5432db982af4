// `npm run bench`: one JSON object per figure on stdout, a short table on stderr. Not part of `npm test`.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.ts';
import { ParsePool } from '../src/processing/parse-pool.ts';
import { domainOf } from '../src/domain/addresses.ts';
import { bigMessage, generateCorpus, prng } from './corpus.ts';
import { benchWorker, MemoryMailbox, percentile, round, seededStore, type Figure } from './bench-kit.ts';
import { runGraphBench } from './graph-bench.ts';

// Every scratch file of the run (its databases, the big messages, its child processes' files) goes under one
// directory, removed when the run ends: a run writes a few GB.
const scratch = mkdtempSync(join(tmpdir(), 'email-connector-bench-'));
process.env.TMPDIR = scratch;
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

const figures: Figure[] = [];
const started = Date.now();
function report(figure: Figure): void {
  figures.push(figure);
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}
const progress = (line: string): void => void process.stderr.write(`… ${line}\n`);

const corpusSize = Number(process.env.BENCH_CORPUS ?? 300);
/** BENCH_ONLY=matching,throughput,memory,graph runs some sections (for working on one figure). */
const only = new Set((process.env.BENCH_ONLY ?? 'matching,throughput,memory,graph').split(','));
const ticketNumbers = Array.from({ length: 50 }, (_, t) => String(t + 1).padStart(7, '0'));
progress(`generating a corpus of ${corpusSize} mails`);
const corpus = generateCorpus(corpusSize, { accounts: 1000, ticketNumbers });
const corpusBytes = corpus.reduce((sum, mail) => sum + mail.raw.length, 0);
const mix = Object.fromEntries(
  ['new-ticket', 'reply', 'employee-bcc', 'unknown-sender', 'auto-reply'].map((kind) => [
    kind,
    corpus.filter((mail) => mail.kind === kind).length,
  ]),
);
const context = { corpus: corpusSize, corpus_mb: round(corpusBytes / 1_048_576, 1), mix };

/** The service's settings when nothing is configured: its worker concurrency and parse threads. */
const defaults = loadConfig({});

/** Rounds of each timed figure (BENCH_ROUNDS, at least 5 for a median that one outlier cannot move). */
const rounds = Math.max(5, Number(process.env.BENCH_ROUNDS ?? 5));

/**
 * Parse-only and pipeline throughput on the same corpus. Both are steady-state: a warm-up pass on other mails
 * first, so that neither pays for JIT compilation; then `rounds` interleaved rounds (parse-only and pipeline one
 * after the other, in alternating order), each figure the median with its min and max.
 */
async function throughput(): Promise<void> {
  const warmup = generateCorpus(60, { seed: 7, accounts: 1000, ticketNumbers });
  const parseAll = async (mails: typeof corpus): Promise<number> => {
    const t0 = performance.now();
    for (const mail of mails) await simpleParser(mail.raw, { skipImageLinks: true, skipTextLinks: true });
    return (performance.now() - t0) / 1000;
  };
  // enqueue → claim → process → commit outcome (and send from the outbox), on a SQLite file database, driven as
  // the service drives it: the worker started, claiming continuously at its concurrency as slots free up, until
  // every message has its final outcome; then stopped, which sends what is left in the outbox.
  const pipeline = async (mails: typeof corpus): Promise<number> => {
    const { store, deps: seeded, path } = await seededStore(1000);
    // The service keeps one parse pool for its life: the rounds share one, started by the warm-up.
    await seeded.parser?.close();
    const deps = { ...seeded, parser };
    const mailbox = new MemoryMailbox();
    let final = 0;
    let allFinal: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (allFinal = resolve));
    const worker = benchWorker(store, deps, mailbox, 'bench', () => {
      if ((final += 1) === mails.length) allFinal();
    });
    const t0 = performance.now();
    for (const [index, mail] of mails.entries()) {
      mailbox.messages.set(`m${index}`, mail.raw);
      await store.enqueue({ mailboxId: `m${index}`, source: 'bench', now: new Date() });
    }
    worker.start();
    // The worker's own timers do not keep a process alive; this does, until the last outcome.
    const alive = setInterval(() => undefined, 1000);
    await finished;
    clearInterval(alive);
    await worker.stop();
    const seconds = (performance.now() - t0) / 1000;
    const outcomes = (await store.counts()).outcomes;
    await store.close();
    rmSync(dirname(path), { recursive: true });
    if (outcomes !== mails.length)
      throw new Error(`pipeline produced ${outcomes} outcomes for ${mails.length} mails`);
    return seconds;
  };
  const parser = new ParsePool({ threads: defaults.PARSE_THREADS, logger: pino({ level: 'silent' }) });
  progress('throughput: warm-up');
  await parseAll(warmup);
  await pipeline(warmup);
  const parseRuns: number[] = [];
  const pipelineRuns: number[] = [];
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    progress(`throughput: round ${round} of ${rounds}`);
    // Alternating which goes first, so that neither always runs on the other's garbage.
    if (round % 2 === 1) {
      parseRuns.push(await parseAll(corpus));
      pipelineRuns.push(await pipeline(corpus));
    } else {
      pipelineRuns.push(await pipeline(corpus));
      parseRuns.push(await parseAll(corpus));
    }
    ratios.push(parseRuns.at(-1)! / pipelineRuns.at(-1)!);
  }
  await parser.close();
  const rates = (runs: number[]) => runs.map((seconds) => corpusSize / seconds);
  const spread = (values: number[], digits: number) => ({
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
  });
  const parseRates = rates(parseRuns);
  const pipelineRates = rates(pipelineRuns);
  report({
    name: 'parse_only_msgs_per_s',
    value: round(percentile(parseRates, 50), 1),
    unit: 'msg/s',
    ...spread(parseRates, 1),
    ...context,
    rounds,
  });
  report({
    name: 'pipeline_msgs_per_s',
    value: round(percentile(pipelineRates, 50), 1),
    unit: 'msg/s',
    ...spread(pipelineRates, 1),
    ...context,
    database: 'sqlite file',
    concurrency: defaults.WORKER_CONCURRENCY,
    parse_threads: defaults.PARSE_THREADS,
    rounds,
  });
  // The median of each round's own ratio: a round slowed by the machine slows both of its halves alike.
  report({
    name: 'pipeline_vs_parse_ratio',
    value: round(percentile(ratios, 50), 3),
    unit: 'ratio',
    ...spread(ratios, 3),
    rounds,
    target: '>= 0.7',
  });
}

/**
 * Matching: full address, then domain, at 1k, 10k and 100k accounts (five contacts each). Each size is measured
 * in `rounds` rounds of 3,000 look-ups after a warm-up; the figure is the median round's p99 (one GC pause in a
 * round of sub-millisecond look-ups would otherwise decide the figure).
 */
async function matching(): Promise<void> {
  for (const accounts of [1_000, 10_000, 100_000]) {
    progress(`matching at ${accounts} accounts (seeding)`);
    const { store, path } = await seededStore(accounts);
    const random = prng(accounts);
    const lookup = async (i: number): Promise<number> => {
      const n = Math.floor(random() * accounts);
      const roll = random();
      const sender =
        roll < 0.5
          ? `contact${1 + (i % 5)}@acct${n}.example`
          : roll < 0.8
            ? `new${i}@acct${n}.example`
            : `x${i}@unknown${n}.example`;
      const t0 = performance.now();
      const byAddress = await store.findAccountsByAddress(sender);
      if (byAddress.length === 0) await store.findAccountsByDomain(domainOf(sender)!);
      return performance.now() - t0;
    };
    for (let i = 0; i < 1000; i += 1) await lookup(i);
    const results: { p99: number; p50: number }[] = [];
    for (let index = 0; index < rounds; index += 1) {
      const timings: number[] = [];
      for (let i = 0; i < 3000; i += 1) timings.push(await lookup(i));
      results.push({ p99: percentile(timings, 99), p50: percentile(timings, 50) });
    }
    await store.close();
    rmSync(dirname(path), { recursive: true });
    results.sort((a, b) => a.p99 - b.p99);
    const median = results[Math.floor(results.length / 2)]!;
    report({
      name: 'match_p99_ms',
      value: round(median.p99, 3),
      unit: 'ms',
      min: round(results[0]!.p99, 3),
      max: round(results.at(-1)!.p99, 3),
      accounts,
      contacts: accounts * 5,
      lookups_per_round: 3000,
      rounds,
      p50_ms: round(median.p50, 3),
      target: '<= 2 at 100k, growing no faster than log n',
    });
  }
}

/** Memory, each figure in its own process. */
async function memory(): Promise<void> {
  const child = fileURLToPath(new URL('./rss-child.ts', import.meta.url));
  // A new ticket with its acknowledgment; a customer's reply filed under ticket 0000001 (account ACCT0) and
  // forwarded to internal support; an unknown sender's mail forwarded. Each sends what it causes.
  const cases = [
    { mode: 'big', name: 'peak_rss_mb', message: bigMessage(35) },
    {
      mode: 'reply-forward',
      name: 'peak_rss_mb_reply_forward',
      message: bigMessage(35, { from: 'contact1@acct0.example', subject: 'RE: [Ticket#0000001] Big scan' }),
    },
    {
      mode: 'forward',
      name: 'peak_rss_mb_forward',
      message: bigMessage(35, { from: 'someone@unknown.example' }),
    },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'bench-big-'));
  for (const { mode, name, message } of cases) {
    progress(`peak RSS for a 35 MB message (${mode})`);
    const file = join(dir, `${mode}.eml`);
    writeFileSync(file, message);
    const big = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', child, mode, file], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      }),
    ) as { peakRssMb: number; baselineRssMb: number; messageMb: number };
    report({
      name,
      value: round(big.peakRssMb, 1),
      unit: 'MB',
      message_mb: round(big.messageMb, 1),
      baseline_mb: round(big.baselineRssMb, 1),
      target: '<= 300',
    });
  }

  progress('RSS growth across 10,000 messages');
  const many = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', child, 'many', '10000'], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    }),
  ) as { warmRssMb: number; endRssMb: number; count: number; warmup: number };
  report({
    name: 'rss_growth_mb',
    value: round(many.endRssMb - many.warmRssMb, 1),
    unit: 'MB',
    messages: many.count,
    after_warmup: many.warmup,
    target: '<= 50',
  });
}

/** Microsoft Graph figures, through the local HTTPS stand-in. */
async function graph(): Promise<void> {
  progress('webhook and Graph calls');
  for (const figure of await runGraphBench(rounds, progress)) report(figure);
}

// Each section starts on a collected heap, so that one section's garbage does not pause another's timings.
const sections: Record<string, () => Promise<void>> = { matching, throughput, memory, graph };
for (const [name, section] of Object.entries(sections)) {
  if (!only.has(name)) continue;
  globalThis.gc?.();
  await section();
}

const seconds = (Date.now() - started) / 1000;
process.stderr.write(
  `\nEmail Connector benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${round(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, ${round(seconds, 0)} s\n`,
);
for (const figure of figures) {
  const extra = figure.accounts ? ` (${figure.accounts} accounts)` : '';
  // A median of rounds is shown with its lowest and highest round.
  const range = figure.min !== undefined ? ` (${String(figure.min)}–${String(figure.max)})` : '';
  process.stderr.write(
    `  ${(figure.name + extra).padEnd(38)} ${String(figure.value).padStart(10)} ${figure.unit}${range}${figure.target ? `   target ${String(figure.target)}` : ''}\n`,
  );
}
