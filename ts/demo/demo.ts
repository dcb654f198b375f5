// `moalign demo`: the whole story on the built-in task. Build the task (or reuse it), train and
// evaluate ParetoHqD, Panacea and the baselines (RiC, Rewarded Soups, plain SFT) with the same protocol,
// then compare their fronts in one table and one report. Each part resumes on its own, so an
// interrupted demo continues where it stopped.
import { join, resolve } from 'node:path';
import type { TrainProgress } from '../engine/trainer.js';
import type { EvalProgress } from '../eval/evaluate.js';
import type { MethodEventOf, MethodHooks } from '../methods/events.js';
import { runtimeInfo } from '../engine/runtime.js';
import { PanaceaRun } from '../methods/panacea/index.js';
import { ParetoHqD } from '../methods/paretohqd/index.js';
import { RiC } from '../methods/ric/index.js';
import { SftBaseline } from '../methods/sft/index.js';
import { RewardedSoups } from '../methods/soups/index.js';
import { compareRuns, comparisonTable, type Comparison } from '../report/compare.js';
import { writeComparisonReport } from '../report/html.js';
import { buildTask, DEFAULT_TASK, type TaskSettings } from '../task/build.js';
import type { PoolProgress } from '../task/pool.js';
import { writeTextAtomic } from '../util/atomic-file.js';

export interface DemoOptions {
  /** Where everything goes. Default 'moalign-demo'. */
  out?: string;
  /** 2 (positivity, fidelity; default) or 3 (+ conciseness). */
  objectives?: 2 | 3;
  /** A first look in about three minutes: a smaller base model, task and training. */
  quick?: boolean;
  /** Train and generate on CUDA when libtorch has it. Default false. */
  gpu?: boolean;
  /** Replace task and run folders built with other settings (default: refuse them). */
  overwrite?: boolean;
  /**
   * The training seed of every method (data order, adapter initialisation, Panacea's λ draws).
   * Default 0. The task and the evaluation's decoding seeds stay the same, so two seeds compare
   * the methods' spread, not the task's.
   */
  seed?: number;
  /** The methods to run, in order. Default all five. */
  methods?: DemoMethod[];
}

export type DemoMethod = 'paretohqd' | 'panacea' | 'ric' | 'soups' | 'sft';
export const DEMO_METHODS: readonly DemoMethod[] = ['paretohqd', 'panacea', 'ric', 'soups', 'sft'];

/** What the demo reports while it works: which part, and that part's own progress. */
export type DemoEvent =
  | { kind: 'part'; part: 'task' | DemoMethod | 'compare'; message: string }
  | { kind: 'step'; part: string; message: string }
  | { kind: 'train'; part: string; label: string; progress: TrainProgress }
  | { kind: 'sample'; part: string; progress: PoolProgress }
  | { kind: 'generate'; part: string; label: string; done: number; total: number }
  | { kind: 'evaluate'; part: string; progress: EvalProgress };

/** The quick task: a smaller base model and pool, cached separately from the full one. */
const QUICK_TASK: Partial<TaskSettings> = {
  prompts: { train: 500, test: 100, seed: 0 },
  baseModel: {
    ...DEFAULT_TASK.baseModel,
    model: { ...DEFAULT_TASK.baseModel.model, layers: 2 },
    training: { ...DEFAULT_TASK.baseModel.training, steps: 250 },
  },
};

/** Per-method settings on top of each method's built-in-task defaults; --quick trims them; a seed other than 0 sets every training seed. */
export function methodConfig(method: DemoMethod, task: string, quick: boolean, objectives: 2 | 3, seed: number): Record<string, unknown> {
  const config = sizedConfig(method, task, quick, objectives);
  if (seed === 0) return config; // the configs (and run folders) of the default seed stay as they were
  return { ...config, training: { ...(config.training as object | undefined), seed } };
}

function sizedConfig(method: DemoMethod, task: string, quick: boolean, objectives: 2 | 3): Record<string, unknown> {
  if (!quick) return { task };
  // 5 preferences for 2 objectives; the 6 corners and edge midpoints for 3
  const base = { task, preferences: objectives === 2 ? 'grid:5' : 'dasDennis:2', evaluation: { limit: 60 } };
  switch (method) {
    case 'paretohqd':
      return { ...base, training: { steps: 40 }, augmentation: { prompts: 200 } };
    case 'ric':
    case 'sft':
      return { ...base, training: { steps: 120 } };
    case 'soups':
      return { ...base, training: { steps: 60 } };
    case 'panacea':
      return { ...base, training: { steps: 80 } };
  }
}

/** A method's run: the same shape for every method (config + run folder, then runAll). */
interface MethodRun {
  runAll(hooks: MethodHooks): Promise<unknown>;
}

function methodRun(method: DemoMethod, config: Record<string, unknown>, dir: string, options: { overwrite?: boolean }): MethodRun {
  switch (method) {
    case 'paretohqd':
      return new ParetoHqD(config, dir, options);
    case 'ric':
      return new RiC(config, dir, options);
    case 'soups':
      return new RewardedSoups(config, dir, options);
    case 'sft':
      return new SftBaseline(config, dir, options);
    case 'panacea':
      return new PanaceaRun(config, dir, options);
  }
}

export interface DemoResult {
  out: string;
  comparison: Comparison;
  table: string;
  report: string;
  seconds: Record<string, number>;
}

/**
 * The device the demo's models use: CUDA when `gpu` asks for it and libtorch has a CUDA device;
 * otherwise the CPU, with a notice when CUDA was asked for and is missing.
 */
export function demoDevice(gpu: boolean, cudaAvailable: boolean): { device: 'cuda' | 'cpu'; notice?: string } {
  if (!gpu) return { device: 'cpu' };
  if (cudaAvailable) return { device: 'cuda' };
  return { device: 'cpu', notice: '--gpu: this libtorch has no CUDA device; running on the CPU' };
}

/** Runs the demo into `options.out`; returns the comparison and where the report is. */
export async function runDemo(options: DemoOptions = {}, hooks: DemoHooks = {}): Promise<DemoResult> {
  const { device, notice } = demoDevice(options.gpu ?? false, options.gpu === true && runtimeInfo().cudaAvailable);
  if (notice !== undefined) hooks.onEvent?.({ kind: 'step', part: 'demo', message: notice });
  if (device === 'cpu') return demoParts(options, hooks);
  // Every model the pipeline loads, here and in its child processes, follows MOALIGN_DEVICE
  // (ts/engine/causal-lm.ts); it is set for this run only.
  const before = process.env.MOALIGN_DEVICE;
  process.env.MOALIGN_DEVICE = device;
  try {
    return await demoParts(options, hooks);
  } finally {
    if (before === undefined) delete process.env.MOALIGN_DEVICE;
    else process.env.MOALIGN_DEVICE = before;
  }
}

export interface DemoHooks {
  onEvent?: (e: DemoEvent) => void;
  signal?: AbortSignal;
}

async function demoParts(options: DemoOptions, hooks: DemoHooks): Promise<DemoResult> {
  const out = resolve(options.out ?? 'moalign-demo');
  const quick = options.quick ?? false;
  const objectives = options.objectives ?? 2;
  const methods = options.methods ?? [...DEMO_METHODS];
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be an integer >= 0, got ${seed}`);
  const emit = hooks.onEvent ?? (() => {});
  const seconds: Record<string, number> = {};

  const taskDir = join(out, 'task');
  emit({ kind: 'part', part: 'task', message: `building the built-in task (${objectives} objectives${quick ? ', quick' : ''})` });
  let t0 = Date.now();
  await buildTask(taskDir, { ...(quick ? QUICK_TASK : {}), objectives }, {
    overwrite: options.overwrite,
    signal: hooks.signal,
    onStep: (_step, message) => emit({ kind: 'step', part: 'task', message }),
    onPretrainProgress: (progress) => emit({ kind: 'train', part: 'task', label: 'pretraining', progress }),
    onPoolProgress: (progress) => emit({ kind: 'sample', part: 'task', progress }),
  });
  seconds.task = (Date.now() - t0) / 1000;

  const runDirs: string[] = [];
  for (const method of methods) {
    const dir = join(out, 'runs', method);
    emit({ kind: 'part', part: method, message: `${method}: training and evaluating` });
    t0 = Date.now();
    await methodRun(method, methodConfig(method, taskDir, quick, objectives, seed), dir, { overwrite: options.overwrite }).runAll({
      signal: hooks.signal,
      onProgress: (e) => {
        if (e.kind === 'step') emit({ kind: 'step', part: method, message: e.message });
        else if (e.kind === 'train') emit({ kind: 'train', part: method, label: trainLabel(e), progress: e.progress });
        else if (e.kind === 'generate') emit({ kind: 'generate', part: method, label: `generated ${e.name}`, done: e.done, total: e.total });
        else if (e.kind === 'evaluate') emit({ kind: 'evaluate', part: method, progress: e.progress });
      },
    });
    seconds[method] = (Date.now() - t0) / 1000;
    runDirs.push(dir);
  }

  emit({ kind: 'part', part: 'compare', message: 'comparing the fronts' });
  const comparison = compareRuns(runDirs);
  const table = comparisonTable(comparison);
  const report = join(out, 'report.html');
  await writeComparisonReport(report, comparison);
  await writeTextAtomic(join(out, 'results.json'), `${JSON.stringify({ table, seconds, runs: runDirs, quick, objectives }, null, 2)}\n`);
  return { out, comparison, table, report, seconds };
}

/** "stage 1 ω (0.5, 0.5) 3/11 step", "expert positivity 1/2 step". */
function trainLabel(e: MethodEventOf<'train'>): string {
  return `${e.stage !== undefined ? `stage ${e.stage} ` : ''}${e.name} ${e.index + 1}/${e.of} step`;
}
