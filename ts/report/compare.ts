// Comparing evaluated runs (`moalign compare`): each run's metrics are recomputed in one space
// normalised over the points of every run (metrics.md §2.1, paretohqd.md §8.3), since a run's own
// record is normalised over its own points only and its numbers do not compare across runs.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { formatSeconds } from '../cli/progress.js';
import { checkRecord } from '../data/jsonl.js';
import type { EvalGeneration } from '../eval/evaluate.js';
import { EVAL_FILES, type EvalRecord, readEvalGenerations, readEvalRecord } from '../eval/record.js';
import { DEFAULT_HV_MARGIN, frontMetrics, type FrontMetricsRecord, type NormalisationBounds, normalisationBounds } from '../moo/front-metrics.js';
import { TASK_FILES } from '../task/build.js';
import { readJsonFile } from '../util/json-file.js';

/** A run's record and its metrics in the shared space. */
export interface ComparedRun {
  /** The run folder (absolute). */
  dir: string;
  /** The method's name, with the folder's name added when two runs share a method. */
  name: string;
  record: EvalRecord;
  /** Recomputed with the pooled bounds (and the default variants). */
  metrics: FrontMetricsRecord;
}

export interface Comparison {
  objectives: string[];
  /** lo, hi and δ pooled over every run's points; the reference point is the origin. */
  bounds: NormalisationBounds;
  runs: ComparedRun[];
  /** Differences that make the numbers less comparable (other prompts, other decoding). */
  warnings: string[];
}

export interface CompareOptions {
  /** δ below each objective's pooled minimum. Default 0.1. */
  hvMargin?: number;
}

/** Reads each run's `eval/record.json` and compares them (see compareRecords). */
export function compareRuns(runDirs: readonly string[], options: CompareOptions = {}): Comparison {
  const runs = runDirs.map((d) => {
    const dir = resolve(d);
    const record = readEvalRecord(dir);
    if (!record) throw new Error(`${dir} has no ${EVAL_FILES.record}; evaluate it first (moalign eval --run ${d})`);
    return { dir, record };
  });
  return compareRecords(runs, options);
}

/**
 * Compares evaluated runs: they must measure the same objectives in the same order; the bounds
 * are pooled over all their points, and every run's HV, IP, sparsity and spacing recomputed there.
 */
export function compareRecords(runs: readonly { dir: string; record: EvalRecord }[], options: CompareOptions = {}): Comparison {
  if (runs.length === 0) throw new RangeError('no runs to compare');
  const objectives = runs[0].record.objectives;
  for (const r of runs.slice(1)) {
    if (r.record.objectives.join('\u0000') !== objectives.join('\u0000')) {
      const list = runs.map((x) => `  ${x.dir}: ${x.record.objectives.join(', ')}`).join('\n');
      const sameSet = [...r.record.objectives].sort().join('\u0000') === [...objectives].sort().join('\u0000');
      throw new Error(`the runs were evaluated on ${sameSet ? 'the same objectives in a different order' : 'different objectives'}; they cannot be compared:\n${list}`);
    }
  }
  const fronts = runs.map((r) => r.record.points.map((p) => p.mean));
  const bounds = normalisationBounds(fronts, { hvMargin: options.hvMargin ?? DEFAULT_HV_MARGIN });
  const names = displayNames(runs);
  const compared = runs.map((r, i) => ({
    dir: r.dir,
    name: names[i],
    record: r.record,
    metrics: frontMetrics(fronts[i], r.record.points.map((p) => p.preference), { objectives: [...objectives], bounds }),
  }));
  return { objectives: [...objectives], bounds, runs: compared, warnings: settingWarnings(compared) };
}

function displayNames(runs: readonly { dir: string; record: EvalRecord }[]): string[] {
  const count = (name: string) => runs.filter((r) => r.record.method === name).length;
  const names = runs.map((r) => (count(r.record.method) > 1 ? `${r.record.method} (${basename(r.dir)})` : r.record.method));
  return names.map((n, i) => (names.indexOf(n) !== i ? `${n} #${i + 1}` : n));
}

function settingWarnings(runs: readonly ComparedRun[]): string[] {
  const warnings: string[] = [];
  const differ = (what: string, key: (r: ComparedRun) => string) => {
    if (new Set(runs.map(key)).size > 1) warnings.push(`the runs differ in ${what}: ${runs.map((r) => `${r.name}: ${key(r)}`).join('; ')}`);
  };
  differ('their test prompts', (r) => `${r.record.prompts.count} prompts, sha256 ${r.record.settings.prompts.sha256.slice(0, 12)}`);
  differ('decoding', (r) => {
    const s = r.record.settings;
    return `temperature ${s.temperature}, top-p ${s.topP}, max ${s.maxNewTokens} new tokens, seed ${s.seed}`;
  });
  differ('the collapse detector', (r) => JSON.stringify(r.record.settings.collapse));
  return warnings;
}

/** One row of the comparison table, as numbers. */
export interface ComparisonRow {
  method: string;
  dir: string;
  hypervolume: number;
  innerProduct: number;
  sparsity: number;
  spacing: number;
  /** CR% pooled over every preference and prompt. */
  collapsePercent: number;
  trainSeconds: number | null;
  evalSeconds: number;
  /** CPU seconds of training and evaluation together (null when the records predate CPU time). */
  cpuSeconds: number | null;
  /** GPU seconds of training and evaluation together: 0 when both ran on the CPU, null when the records predate GPU time. */
  gpuSeconds: number | null;
  points: number;
}

/** One clock's training plus evaluation seconds; null when the record predates that clock. */
function trainingPlusEvaluation(training: number | null | undefined, evaluation: number | undefined): number | null {
  return evaluation === undefined || training == null ? null : training + evaluation;
}

export function comparisonRows(c: Comparison): ComparisonRow[] {
  return c.runs.map((r) => ({
    method: r.name,
    dir: r.dir,
    hypervolume: r.metrics.hypervolume,
    innerProduct: r.metrics.innerProduct,
    sparsity: r.metrics.sparsity.value,
    spacing: r.metrics.spacing.value,
    collapsePercent: r.record.collapse.percent,
    trainSeconds: r.record.seconds.train,
    evalSeconds: r.record.seconds.total,
    cpuSeconds: trainingPlusEvaluation(r.record.seconds.trainCpu, r.record.seconds.cpu),
    gpuSeconds: trainingPlusEvaluation(r.record.seconds.trainGpu, r.record.seconds.gpu),
    points: r.record.points.length,
  }));
}

export const TABLE_HEADER = ['method', 'HV ↑', 'IP ↑', 'sparsity ↓', 'spacing ↓', 'CR% ↓', 'train time', 'eval time', 'CPU time', 'GPU time'];

/** The table's cells as printed: metrics to 4 decimals, CR% to 1; '-' for a time not recorded, and for no GPU time. */
export function tableCells(row: ComparisonRow): string[] {
  return [
    row.method,
    row.hypervolume.toFixed(4),
    row.innerProduct.toFixed(4),
    row.sparsity.toFixed(4),
    row.spacing.toFixed(4),
    row.collapsePercent.toFixed(1),
    row.trainSeconds === null ? '-' : formatSeconds(row.trainSeconds),
    formatSeconds(row.evalSeconds),
    row.cpuSeconds === null ? '-' : formatSeconds(row.cpuSeconds),
    row.gpuSeconds === null || row.gpuSeconds === 0 ? '-' : formatSeconds(row.gpuSeconds),
  ];
}

/** The comparison as a plain-text table, with the shared normalisation under it. */
export function comparisonTable(c: Comparison): string {
  const rows = [TABLE_HEADER, ...comparisonRows(c).map(tableCells)];
  const widths = TABLE_HEADER.map((_, j) => Math.max(...rows.map((r) => [...r[j]].length)));
  const line = (r: string[]) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line), '', normalisationNote(c), ''].join('\n');
}

/** How the shared space was made: the numbers travel with their bounds (metrics.md §7). */
export function normalisationNote(c: Comparison): string {
  const fmt = (v: number[]) => `[${v.map((x) => Number(x.toPrecision(6))).join(', ')}]`;
  return (
    `HV, IP, sparsity and spacing in the space normalised over all ${c.runs.length} runs' points: ` +
    `objectives ${c.objectives.join(', ')}; lo ${fmt(c.bounds.lo)}, hi ${fmt(c.bounds.hi)}, δ ${c.bounds.hvMargin}, reference point the origin`
  );
}

/** The comparison as JSON: the bounds and, per run, its record's §7 fields recomputed. */
export function comparisonJson(c: Comparison): unknown {
  const rows = comparisonRows(c);
  return {
    objectives: c.objectives,
    bounds: { ...c.bounds, ref: c.objectives.map(() => 0) },
    runs: c.runs.map((r, i) => ({ ...rows[i], metrics: r.metrics, collapse: r.record.collapse })),
    warnings: c.warnings,
  };
}

/** A run's training curves: `train-curves.json` in its folder, when present. */
export const trainCurves = z.array(z.object({ name: z.string().min(1), losses: z.array(z.number()) }));
export type TrainCurves = z.infer<typeof trainCurves>;
export const TRAIN_CURVES_FILE = 'train-curves.json';

function readTrainCurves(dir: string): TrainCurves | undefined {
  const file = join(dir, TRAIN_CURVES_FILE);
  if (!existsSync(file)) return undefined;
  const r = checkRecord(trainCurves, readJsonFile(file));
  if (r.problem !== undefined) throw new Error(`${file}: ${r.problem} (expected [{"name": string, "losses": number[]}, ...])`);
  return r.data;
}

/** Everything the HTML report shows besides the comparison itself. */
export interface ReportExtras {
  /** Per run, in the comparison's order. */
  generations: EvalGeneration[][];
  curves: (TrainCurves | undefined)[];
  /** The pool distribution of each task the runs name (when its folder has one). */
  tasks: { dir: string; svg: string }[];
  /** Sample prompts shown per preference. */
  samplesPerPreference: number;
}

/** Reads the generations, training curves and task pictures of the compared runs. */
export async function readReportExtras(c: Comparison, options: { samplesPerPreference?: number } = {}): Promise<ReportExtras> {
  const generations = await Promise.all(c.runs.map((r) => readEvalGenerations(r.dir)));
  // a relative task (hand-made records) is relative to its run folder
  const taskDirs = [...new Set(c.runs.filter((r) => r.record.task !== null).map((r) => resolve(r.dir, r.record.task as string)))];
  const tasks = taskDirs
    .map((dir) => ({ dir, file: join(dir, TASK_FILES.distribution) }))
    .filter((t) => existsSync(t.file))
    .map((t) => ({ dir: t.dir, svg: readFileSync(t.file, 'utf8') }));
  return { generations, curves: c.runs.map((r) => readTrainCurves(r.dir)), tasks, samplesPerPreference: options.samplesPerPreference ?? 3 };
}
