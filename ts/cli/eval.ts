// `moalign eval`: evaluate a run folder's policies (policies.json) on held-out prompts and write
// eval/record.json and eval/generations.jsonl.
import { type Command, Option } from 'commander';
import type { EvalProgress, EvalRecord } from '../eval/index.js';
import { collect, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, probability } from './engine-common.js';
import { formatSeconds, ProgressBar } from './progress.js';
import { onInterrupt } from './interrupt.js';

interface EvalCliOptions {
  run: string;
  prompts?: string;
  limit?: number;
  maxNewTokens?: number;
  temperature: number;
  topP: number;
  seed: number;
  batchSize: number;
  clean?: 'trim' | 'first-line';
  hvMargin: number;
  scorer?: string[];
  device: string;
  dtype: 'float32' | 'bfloat16' | 'float16';
  force: boolean;
  json: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      "evaluate a method's run: every policy named in DIR/policies.json answers the test prompts once (same decoding and seeds for all), " +
        'the responses are scored on the objectives, and each preference gives one point (the mean rewards). Writes DIR/eval/record.json ' +
        '(hypervolume, inner product, sparsity, spacing in the run\'s own normalised space, collapse rate, timing) and DIR/eval/generations.jsonl. ' +
        'A re-run with the same settings is skipped.',
    )
    .requiredOption('--run <dir>', 'the run folder, holding policies.json')
    .option('--prompts <file>', "test prompts, JSONL or Parquet {id, prompt, reference?} (default: the run's task folder's prompts-test.jsonl)")
    .option('--limit <n>', 'evaluate on the first n prompts only', positiveInt)
    .option('--max-new-tokens <n>', 'tokens per response at most (default: the built-in task\'s setting, else 128)', positiveInt)
    .option('--temperature <t>', 'sampling temperature', positiveNumber, 1.0)
    .option('--top-p <p>', 'nucleus sampling mass', probability, 0.9)
    .option('--seed <s>', 'sampling seed (batch b uses seed + b, the same for every policy)', nonNegativeInt, 0)
    .option('--batch-size <n>', 'prompts per generate call', positiveInt, 32)
    .addOption(new Option('--clean <how>', "how a generation becomes the response (default: first-line for the built-in task, else trim)").choices(['trim', 'first-line']))
    .option('--hv-margin <d>', 'δ of the run\'s own normalisation (compare pools every run\'s points instead)', nonNegativeNumber, 0.1)
    .option('--scorer <NAME=SPEC>', 'scorer of an objective that is not built-in: NAME=rm:DIR or NAME=fn:FILE.mjs (repeatable)', collect)
    .option('--device <device>', "policies and reward models: 'cpu' or 'cuda', 'cuda:1', ...", 'cpu')
    .addOption(new Option('--dtype <type>', 'compute dtype').choices(['float32', 'bfloat16', 'float16']).default('float32'))
    .option('--force', 'evaluate again even when a record with the same settings exists', false)
    .option('--json', 'print the record as JSON on stdout', false)
    .action(evalRun);
}

async function evalRun(opts: EvalCliOptions): Promise<void> {
  const { evaluateRun } = await import('../eval/index.js');
  const progress = new EvalProgressBars();
  using interrupt = onInterrupt('stopping after the current batch (nothing is written)', () => progress.stop());
  try {
    const { record, skipped, files } = await evaluateRun(opts.run, {
      prompts: opts.prompts,
      limit: opts.limit,
      maxNewTokens: opts.maxNewTokens,
      temperature: opts.temperature,
      topP: opts.topP,
      seed: opts.seed,
      batchSize: opts.batchSize,
      clean: opts.clean,
      hvMargin: opts.hvMargin,
      scorers: opts.scorer,
      device: opts.device,
      dtype: opts.dtype,
      force: opts.force,
      signal: interrupt.signal,
      onProgress: (p) => progress.update(p),
    });
    progress.stop();
    if (skipped) process.stderr.write(`moalign: ${files.record} holds an evaluation with these settings; skipped (pass --force to evaluate again)\n`);
    else process.stderr.write(`moalign: evaluated in ${formatSeconds(record.seconds.total)}; written to ${files.record} and ${files.generations}\n`);
    process.stderr.write(summary(record));
    if (opts.json) process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
  } catch (err) {
    if (!interrupt.signal.aborted) throw err;
    process.exitCode = 130;
  } finally {
    progress.stop();
  }
}

/** The points and metrics, as lines for stderr. */
function summary(r: EvalRecord): string {
  const fmt = (v: number) => String(Number(v.toPrecision(4)));
  const rows = [['ω', ...r.objectives, 'CR%'], ...r.points.map((p, i) => [`(${p.preference.map(fmt).join(', ')})`, ...p.mean.map(fmt), r.perPreference[i].collapse.percent.toFixed(1)])];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  const lines = rows.map((row) => `  ${row.map((c, j) => c.padEnd(widths[j])).join('  ')}`.trimEnd());
  return [
    `moalign: ${r.method}: ${r.points.length} preferences × ${r.prompts.count} prompts`,
    ...lines,
    `  HV ${r.hypervolume.toFixed(4)}, IP ${r.innerProduct.toFixed(4)}, sparsity ${r.sparsity.value.toFixed(4)}, spacing ${r.spacing.value.toFixed(4)} ` +
      `(this run's own normalisation, δ ${r.hvMargin}; moalign compare pools the runs); CR% ${r.collapse.percent.toFixed(1)}`,
    '',
  ].join('\n');
}

/** A bar for the generation (with ETA), then one per scorer. */
class EvalProgressBars {
  private bar: ProgressBar | undefined;
  private current = '';

  update(p: EvalProgress): void {
    const label = p.phase === 'generate' ? 'generate' : `score ${p.scorer}`;
    if (label !== this.current) {
      this.bar?.stop();
      this.bar = new ProgressBar(label, p.phase === 'generate' ? 'policy {policy}' : 'responses');
      this.current = label;
    }
    if (p.phase === 'generate') this.bar?.update(p.done, p.total, { policy: `${p.policy + 1}/${p.policies}`, remaining: formatSeconds(p.etaSeconds) });
    else this.bar?.update(p.done, p.total);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.current = '';
  }
}
