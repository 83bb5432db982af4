/**
 * The long fuzz run (docs/fuzzing.md): `npm run fuzz -- --count 200000 --seed 7`. Prints progress and the
 * figures; exits 1 when a message crashed or ended without its outcome, with the inputs saved for replay.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runPipelineFuzz, type FuzzFigures } from './pipeline-fuzzer.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '200000' },
    from: { type: 'string', default: '0' },
    'max-insert': { type: 'string', default: '300000' },
    'crash-dir': { type: 'string', default: join('data', 'fuzz-crashes') },
    every: { type: 'string', default: '10000' },
  },
});
const wholeNumber = (name: string, text: string): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`--${name} must be a whole number, not ${text}`);
  return value;
};
const seed = wholeNumber('seed', values.seed);
const count = wholeNumber('count', values.count);

const line = (figures: FuzzFigures): string =>
  [
    `${figures.messages} messages`,
    `${figures.crashes.length} crashes`,
    `${figures.withoutOutcome.length} without outcome`,
    `p50 ${figures.p50Ms.toFixed(1)} ms`,
    `p99 ${figures.p99Ms.toFixed(1)} ms`,
    `max ${figures.maxMs.toFixed(0)} ms`,
    `peak RSS ${figures.peakRssMb} MB`,
    `${figures.elapsedS} s`,
  ].join(', ');

console.log(
  `fuzzing seed ${seed}, inputs ${values.from}..${wholeNumber('from', values.from) + count - 1}, ` +
    `max insert ${values['max-insert']} bytes; Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ` +
    `${Math.round(totalmem() / 1_073_741_824)} GB`,
);
const figures = await runPipelineFuzz({
  seed,
  count,
  first: wholeNumber('from', values.from),
  maxInsert: wholeNumber('max-insert', values['max-insert']),
  crashDir: values['crash-dir'],
  progressEvery: wholeNumber('every', values.every) || count,
  onProgress: (progress) => console.log(line(progress)),
});

console.log(`\n${line(figures)}`);
console.log(
  `distinct inputs ${figures.distinctInputs}, outcome keys ${figures.distinctKeys}, outcomes recorded ` +
    `${figures.outcomesRecorded}, duplicates ${figures.duplicates}; input ${figures.inputMb} MB`,
);
console.log(`actions ${JSON.stringify(figures.actions)}`);
console.log(
  `heap after collection: ${figures.heapBaselineMb} MB warmed up, ${figures.heapEndMb} MB at the end`,
);
if (figures.slowest)
  console.log(
    `slowest: input ${figures.slowest.index} (${figures.slowest.description}), ${figures.slowest.ms} ms`,
  );
for (const failure of [...figures.crashes, ...figures.withoutOutcome].slice(0, 20)) {
  console.log(`\ninput ${failure.index} (${failure.description}): ${failure.problem}`);
  if (failure.file) console.log(`  saved as ${failure.file}`);
  if (failure.stack) console.log(failure.stack);
}
process.exitCode = figures.crashes.length + figures.withoutOutcome.length > 0 ? 1 : 0;
