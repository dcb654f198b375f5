// `moalign score-data`: attach rewards (one per objective) to a file of (prompt, response) samples.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Option, type Command } from 'commander';
import type { ReadReport } from '../data/dataset.js';
import type { ScoredDataset } from '../data/records.js';
import { defaultScoreCacheDir, parseObjectiveSpecs, resolveScorers, ScoreCache, type ScoreProgress, scoreSamples } from '../data/scorers/index.js';
import type { ModelLoadOptions } from '../engine/index.js';
import { commaList, positiveInt } from './engine-common.js';
import { formatSeconds, ProgressBar } from './progress.js';
import { onInterrupt } from './interrupt.js';

interface ScoreDataCliOptions {
  data: string;
  objectives: string[];
  out: string;
  batchSize: number;
  /** A folder, false for --no-cache, undefined for the default folder. */
  cache?: string | false;
  onInvalid: 'skip' | 'error';
  overwrite?: boolean;
  device: string;
  dtype: NonNullable<ModelLoadOptions['dtype']>;
}

/** How many skipped records the summary lists by line. */
const LISTED_SKIPS = 10;

export function registerScoreData(program: Command): void {
  program
    .command('score-data')
    .description(
      'score every (prompt, response) of a dataset on each objective and write the scored dataset. ' +
        'Objectives: the built-in positivity (AFINN-165 valence of the response), fidelity (token F1 against the record\'s "reference") ' +
        'and conciseness (minus the word count), NAME=rm:DIR (a reward model folder) or NAME=fn:FILE.mjs (a module whose default export maps ' +
        '{prompt, response, reference} to a number). Scores are cached, so a run stopped with Ctrl-C goes on where it stopped.',
    )
    .requiredOption('--data <file>', 'JSONL or Parquet: {"prompt", "response", "id"?, "reference"?} records, or Anthropic HH {"chosen", "rejected"} pairs')
    .requiredOption('--objectives <a,b,c>', 'comma-separated objectives: positivity, fidelity, conciseness, NAME=rm:DIR, NAME=fn:FILE.mjs', commaList)
    .requiredOption('--out <file>', 'the scored dataset, .jsonl or .parquet')
    .option('--batch-size <n>', 'samples per scorer call (and per reward-model forward pass)', positiveInt, 64)
    .option('--cache <dir>', `score cache folder (default: ${defaultScoreCacheDir()})`)
    .option('--no-cache', 'score everything and keep nothing')
    .addOption(new Option('--on-invalid <what>', 'an invalid record: stop with an error, or skip it and list it in the summary').choices(['error', 'skip']).default('error'))
    .option('--overwrite', 'replace --out if it exists')
    .option('--device <device>', "reward models: 'cpu' or 'cuda', 'cuda:1', ...", 'cpu')
    .addOption(new Option('--dtype <type>', 'reward models: compute dtype').choices(['float32', 'bfloat16', 'float16']).default('float32'))
    .action(scoreData);
}

async function scoreData(opts: ScoreDataCliOptions): Promise<void> {
  // usage errors first, before any reading or scoring
  const specs = parseObjectiveSpecs(opts.objectives);
  if (!opts.overwrite && existsSync(opts.out)) throw new Error(`${opts.out} exists; pass --overwrite to replace it`);

  // loaded here, not at start-up: the readers pull in Parquet, which other commands do not need
  const { readTextSamples, writeScoredDataset } = await import('../data/dataset.js');
  const { samples, report } = await readTextSamples(opts.data, { onInvalid: opts.onInvalid, dedupe: true });
  reportInput(opts.data, report);
  if (samples.length === 0) throw new Error(`${opts.data}: no samples to score`);

  const scorers = await resolveScorers(specs, { batchSize: opts.batchSize, device: opts.device, dtype: opts.dtype });
  const cacheDir = opts.cache === false ? undefined : (opts.cache ?? defaultScoreCacheDir());
  const progress = new ProgressReporter();
  using interrupt = onInterrupt('stopping after the current batch (Ctrl-C again to quit at once)', () => progress.stop());
  const start = performance.now();
  let dataset: ScoredDataset;
  try {
    dataset = await scoreSamples(samples, scorers, {
      batchSize: opts.batchSize,
      cache: cacheDir === undefined ? false : new ScoreCache(cacheDir),
      signal: interrupt.signal,
      onProgress: (p) => progress.update(p),
    });
  } catch (err) {
    if (!interrupt.signal.aborted) throw err;
    const kept = cacheDir === undefined ? 'nothing was kept (--no-cache)' : `the finished batches are cached in ${cacheDir}; run the same command again to go on`;
    process.stderr.write(`moalign: stopped; ${kept}\n`);
    process.exitCode = 130;
    return;
  } finally {
    progress.stop();
    for (const s of scorers) s.dispose?.();
  }
  const seconds = (performance.now() - start) / 1000;

  await writeScoredDataset(opts.out, dataset, { overwrite: opts.overwrite ?? false });
  const hits = dataset.objectives.map((name) => `${name} ${progress.cachedOf(name)}/${dataset.size}`).join(', ');
  const cacheNote = cacheDir === undefined ? 'no cache' : `cache hits: ${hits}`;
  process.stderr.write(
    `moalign: scored ${dataset.size} samples on ${dataset.objectives.length} objective${dataset.objectives.length === 1 ? '' : 's'} ` +
      `(${dataset.objectives.join(', ')}) in ${seconds.toFixed(1)} s; ${cacheNote}; written to ${opts.out}\n`,
  );
}

/** Samples read, the skipped records by file:line (the first LISTED_SKIPS), duplicates removed. */
function reportInput(file: string, report: ReadReport): void {
  // report.records counts samples kept (an HH pair gives two)
  const lines = [`moalign: read ${report.records} sample${report.records === 1 ? '' : 's'} from ${file}`];
  if (report.skipped.length > 0) {
    lines[0] += `; skipped ${report.skipped.length} invalid:`;
    for (const s of report.skipped.slice(0, LISTED_SKIPS)) lines.push(`  ${s.file}:${s.line}: ${s.message}`);
    if (report.skipped.length > LISTED_SKIPS) lines.push(`  and ${report.skipped.length - LISTED_SKIPS} more`);
  }
  if (report.duplicates > 0) lines.push(`moalign: removed ${report.duplicates} duplicate sample${report.duplicates === 1 ? '' : 's'}`);
  if (report.ignoredColumns && report.ignoredColumns.length > 0) lines.push(`moalign: ignored columns: ${report.ignoredColumns.join(', ')}`);
  process.stderr.write(`${lines.join('\n')}\n`);
}

/** Scoring progress on stderr, one ProgressBar per objective; remembers each objective's cache hits. */
class ProgressReporter {
  private bar: ProgressBar | undefined;
  private current: string | undefined;
  private started = 0;
  private stopped = false;
  private readonly cached = new Map<string, number>();

  cachedOf(scorer: string): number {
    return this.cached.get(scorer) ?? 0;
  }

  update(p: ScoreProgress): void {
    this.cached.set(p.scorer, p.cached);
    if (this.stopped) return;
    if (!this.bar || p.scorer !== this.current) {
      this.bar?.stop();
      this.bar = new ProgressBar(p.scorer, '{cached} cached');
      this.current = p.scorer;
      this.started = performance.now();
    }
    this.bar.update(p.done, p.total, { cached: p.cached, remaining: formatSeconds(this.eta(p)) });
  }

  /** Seconds left at the rate of the samples scored so far (cached ones took no time). */
  private eta(p: ScoreProgress): number {
    const scored = p.done - p.cached;
    if (p.done === p.total) return 0;
    return scored === 0 ? Number.NaN : ((performance.now() - this.started) / 1000 / scored) * (p.total - p.done);
  }

  stop(): void {
    this.stopped = true;
    this.bar?.stop();
    this.bar = undefined;
  }
}
