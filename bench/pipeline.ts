// Where the time of a full ParetoHqD run on the built-in task goes, stage by stage: the task build
// (tokenizer, base-model pretraining, sampling the pool, scoring) and ParetoHqD's steps (selection,
// training, generation, scoring, evaluation). Prints a table, writes bench/results/pipeline.json.
// Never run by tests or CI.
//
//   npm run bench -- pipeline [--out DIR] [--fresh] [--threads N]
//
// --out keeps the task and the run (default: a temporary folder, removed afterwards); --fresh
// uses an empty cache so the base model is pretrained inside the timing.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setNumThreads } from '../ts/index.js';
import { ParetoHqD } from '../ts/methods/paretohqd/index.js';
import { packageRoot } from '../ts/paths.js';
import { buildTask } from '../ts/task/build.js';
import { busyBeforeRun, log, machineFacts, markdownTable, positiveInt, removeDataDir, runBenchmark, writeResults } from './common.js';

interface Row {
  part: string;
  stage: string;
  seconds: number;
}

/** A step name without its preference index: "stage1-train-3" -> "stage1-train". */
const stageOf = (step: string) => step.replace(/-\d+$/, '');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, fresh: { type: 'boolean', default: false }, threads: { type: 'string' } } });
  if (values.threads !== undefined) setNumThreads(positiveInt(values.threads, 0, 'threads'));
  const busy = await busyBeforeRun();
  const dir = values.out ?? mkdtempSync(join(tmpdir(), 'moalign-bench-pipeline-'));
  const rows: Row[] = [];

  const taskDir = join(dir, 'task');
  const cacheRoot = values.fresh ? join(dir, 'cache') : undefined;
  let t0 = performance.now();
  const manifest = await buildTask(taskDir, {}, { cacheRoot, onStep: (_s, m) => log(`task: ${m}`) });
  const taskSeconds = (performance.now() - t0) / 1000;
  for (const [stage, seconds] of Object.entries(manifest.seconds)) rows.push({ part: 'task build', stage, seconds });
  if (manifest.baseModel.cached) log('the base model came from the cache (pass --fresh to pretrain it inside the timing)');
  else rows.push({ part: 'task build', stage: '(of which pretraining)', seconds: manifest.baseModel.seconds });

  t0 = performance.now();
  const runDir = join(dir, 'paretohqd');
  await new ParetoHqD({ task: taskDir }, runDir).runAll({ onProgress: (e) => e.kind === 'step' && log(`paretohqd: ${e.message}`) });
  const runSeconds = (performance.now() - t0) / 1000;
  const steps = JSON.parse(readFileSync(join(runDir, 'steps.json'), 'utf8')) as Record<string, { seconds: number }>;
  const byStage = new Map<string, number>();
  for (const [step, { seconds }] of Object.entries(steps)) byStage.set(stageOf(step), (byStage.get(stageOf(step)) ?? 0) + seconds);
  for (const [stage, seconds] of byStage) rows.push({ part: 'paretohqd', stage, seconds });
  rows.push({ part: 'total', stage: 'task build', seconds: taskSeconds }, { part: 'total', stage: 'paretohqd', seconds: runSeconds });

  console.log(
    markdownTable(rows, [
      { title: 'part', align: 'left', cell: (r) => r.part },
      { title: 'stage', align: 'left', cell: (r) => r.stage },
      { title: 'seconds', align: 'right', cell: (r) => r.seconds.toFixed(1) },
    ]),
  );
  writeResults(join(packageRoot, 'bench', 'results', 'pipeline.json'), { machine: machineFacts(), busyBeforeRun: busy, rows, eval: JSON.parse(readFileSync(join(runDir, 'eval', 'record.json'), 'utf8')) });
  removeDataDir(dir, values.out !== undefined);
}

await runBenchmark(main);
