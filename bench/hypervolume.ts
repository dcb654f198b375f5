// Hypervolume and non-dominated sorting benchmark: moalign's native multi-objective core against
// moocore (and optuna's hypervolume where it finishes in reasonable time) on this machine, same
// data, one run. Prints a table, writes bench/results/hypervolume.json. Never run by tests or CI.
//
//   npm run bench -- hypervolume [--threads N] [--repeats N] [--cli-runs N] [--no-cli] [--only TEXT] [--out FILE]
//
// The data (DTLZ linear fronts: points uniform on the simplex sum = 1; uniform points for the
// sorts) is generated once from a fixed seed, in minimisation form (moocore's convention), and
// written as raw little-endian float64 files to a temporary folder, which
// bench/hypervolume_baseline.py reads. moalign gets the same values with `minimise: true`.
// For each case moalign is timed three ways:
//   native: the library call on a PointMatrix / FrontSets over the Float64Array (no conversion in JS);
//   JS:     the same call from number[][] rows (the conversion included);
//   CLI:    `moalign hv FILE --ref ... --minimise` (or `pareto`) in a fresh process, wall time,
//           start-up and libtorch load included.
// Every figure is the median of `repeats` timed repeats after an untimed warm-up; a repeat is as
// many back-to-back calls as take about REPEAT_SECONDS, and its figure the mean per call. The
// native call and moocore's are timed in alternating repeats (one of ours, one of theirs, through
// a Python session that stays open), so that a machine whose speed drifts over minutes, as shared
// VMs do, slows both sides of a ratio alike.
// moalign's values must equal moocore's (relative difference ≤ 1e-12; ranks exactly).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAddon, runtimeInfo, setNumThreads } from '../ts/index.js';
import { hypervolume, hypervolumeBatch, paretoFront, paretoRanks } from '../ts/moo/index.js';
import { pythonExecutable } from '../ts/native/libtorch.js';
import { packageRoot } from '../ts/paths.js';
import { Rng, seedOf } from '../ts/util/rng.js';
import {
  BENCH_OPTIONS,
  busyBeforeRun,
  type Column,
  fmt,
  log,
  machineFacts,
  mark,
  markdownTable,
  nowMs,
  OptionError,
  outOption,
  parseBenchOptions,
  positiveInt,
  prepareCalls,
  PythonSession,
  removeDataDir,
  repeatsWithin,
  resultsFileOf,
  runBenchmark,
  type Stats,
  stats,
  timeCalls as timeCallsFor,
  timedRepeat,
  type Timing,
  writeResults,
} from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Seconds one timed repeat should take. */
const REPEAT_SECONDS = 0.2;
/** Most seconds the repeats of one case may take together (fewer repeats beyond, at least one). */
const BUDGET_SECONDS = 10;
const REF = 1.1;
const MAX_REL_DIFF = 1e-12;

// ---------------------------------------------------------------- data

/** n points of a DTLZ linear front in minimisation form: uniform on the simplex sum = 1 (normalised exponentials). */
function linearFront(rng: Rng, n: number, m: number, out: Float64Array = new Float64Array(n * m), at = 0): Float64Array {
  for (let i = 0; i < n; i++) {
    const row = (at + i) * m;
    let sum = 0;
    for (let j = 0; j < m; j++) {
      const e = -Math.log(1 - rng.uniform()); // 1 - u in (0, 1]: finite
      out[row + j] = e;
      sum += e;
    }
    for (let j = 0; j < m; j++) out[row + j] /= sum;
  }
  return out;
}

function uniformPoints(rng: Rng, n: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform();
  return out;
}

function toRows(data: Float64Array, m: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < data.length; i += m) rows.push(Array.from(data.subarray(i, i + m)));
  return rows;
}

/** The CLI's text format: one point per line, comma-separated, shortest round-trip (exact). */
function pointsText(data: Float64Array, m: number, size = Infinity): string {
  const lines: string[] = [];
  for (let i = 0; i < data.length / m; i++) {
    if (i > 0 && i % size === 0) lines.push('');
    lines.push(Array.from(data.subarray(i * m, (i + 1) * m), String).join(','));
  }
  return `${lines.join('\n')}\n`;
}

type CaseKind = 'single' | 'batch' | 'sort';

interface BenchCase {
  name: string;
  kind: CaseKind;
  m: number;
  /** Points (single, sort) or fronts x size (batch). */
  n: number;
  fronts?: number;
  size?: number;
  data: Float64Array;
  file: string;
  textFile: string;
  /** true, or why optuna does not run this case. */
  optuna: true | string;
  target: Target;
}

type Target = { kind: 'ratio'; max: number } | { kind: 'speedup'; min: number } | { kind: 'ms'; max: number };

function defineCases(): Omit<BenchCase, 'data' | 'file' | 'textFile'>[] {
  const single = (m: number, n: number, maxRatio: number, optuna: true | string = true) => ({
    name: `single front, ${m}-D, n=${n.toLocaleString('en-US')}`,
    kind: 'single' as const,
    m,
    n,
    optuna,
    target: { kind: 'ratio' as const, max: maxRatio },
  });
  const batch = (m: number) => ({
    name: `batch, 1,000 fronts x 100, ${m}-D`,
    kind: 'batch' as const,
    m,
    n: 100_000,
    fronts: 1000,
    size: 100,
    optuna: true as const,
    target: { kind: 'speedup' as const, min: 10 },
  });
  const sort = (m: number) => ({
    name: `paretoRanks, 320,000 uniform, ${m}-D`,
    kind: 'sort' as const,
    m,
    n: 320_000,
    optuna: 'no counterpart',
    target: { kind: 'ms' as const, max: 100 },
  });
  return [
    single(2, 100_000, 1.0),
    single(3, 10_000, 1.0),
    single(4, 1_000, 1.0),
    single(5, 300, 1.5),
    single(6, 200, 1.5, 'too slow (≈20 s per call)'),
    batch(2),
    batch(3),
    batch(4),
    sort(2),
    sort(3),
  ];
}

function makeData(c: Omit<BenchCase, 'data' | 'file' | 'textFile'>, dir: string, index: number): BenchCase {
  const rng = new Rng(seedOf(c.name));
  let data: Float64Array;
  if (c.kind === 'single') data = linearFront(rng, c.n, c.m);
  else if (c.kind === 'batch') {
    data = new Float64Array(c.n * c.m);
    for (let b = 0; b < c.fronts!; b++) linearFront(rng, c.size!, c.m, data, b * c.size!);
  } else data = uniformPoints(rng, c.n, c.m);
  const file = `case${index}.f64`;
  const textFile = join(dir, `case${index}.txt`);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (new Uint8Array(new Float64Array([1]).buffer)[7] !== 0x3f) throw new Error('this benchmark writes little-endian float64 and needs a little-endian machine');
  writeFileSync(join(dir, file), bytes);
  writeFileSync(textFile, pointsText(data, c.m, c.kind === 'batch' ? c.size : Infinity));
  return { ...c, data, file, textFile };
}

// ---------------------------------------------------------------- statistics and timing

/** timeCalls (bench/common.ts) with this benchmark's repeat length and budget. */
const timeCalls = <T>(fn: () => T | Promise<T>, repeats: number) => timeCallsFor(fn, repeats, { repeatSeconds: REPEAT_SECONDS, budgetSeconds: BUDGET_SECONDS });

/** Our call timed in alternation with moocore's on the same case; `ratios` are ours / theirs per round. */
interface Paired<T> {
  timing: Timing;
  value: T;
  moocore: PyCase;
  ratios: number[];
}

/**
 * `fn` and the Python session's case `index` in alternating repeats: a warm-up on each side, then
 * one repeat of ours and one of moocore's, `repeats` rounds (fewer where either side would pass the
 * budget). The session's `finish` then gives moocore's record (its values, optuna's timing).
 */
async function timePaired<T>(fn: () => T | Promise<T>, py: PythonSession, index: number, repeats: number): Promise<Paired<T>> {
  const ours = await prepareCalls(fn, REPEAT_SECONDS);
  const theirs = await py.request<{ calls: number; estimateMs: number }>({ op: 'prepare', case: index });
  const rounds = Math.min(repeatsWithin(repeats, ours.estimateMs * ours.calls, BUDGET_SECONDS), repeatsWithin(repeats, theirs.estimateMs * theirs.calls, BUDGET_SECONDS));
  const samples: number[] = [];
  const ratios: number[] = [];
  let value = ours.value;
  for (let r = 0; r < rounds; r++) {
    const repeat = await timedRepeat(fn, ours.calls);
    value = repeat.value;
    samples.push(repeat.ms);
    ratios.push(repeat.ms / (await py.request<{ ms: number }>({ op: 'repeat', case: index })).ms);
  }
  const moocore = await py.request<PyCase>({ op: 'finish', case: index });
  return { timing: { ms: stats(samples), calls: ours.calls, repeats: rounds }, value, moocore, ratios };
}

// ---------------------------------------------------------------- moalign

interface MoalignResult {
  native: Timing;
  /** moocore's record for this case, timed in alternation with `native`. */
  moocore: PyCase;
  /** native / moocore, round by round. */
  pairedRatios: number[];
  js: Timing | null;
  /** hypervolume per front (single: one value), or ranks. */
  hv?: Float64Array;
  ranks?: Int32Array;
  cuda?: { timing: Timing; hv: Float64Array } | null;
  /** sort cases: paretoFront (rank 1 only) on the same data. */
  front?: { timing: Timing; count: number };
}

/** Case `index`: the native call paired with moocore's through `py`, then the JS, cuda and front timings. */
async function runMoalign(c: BenchCase, index: number, py: PythonSession, repeats: number, cuda: boolean): Promise<MoalignResult> {
  const matrix = { data: c.data, m: c.m };
  const ref = new Array<number>(c.m).fill(REF);
  const opts = { ref, minimise: true, onOutside: 'ignore' as const };
  const paired = <T>(fn: () => T | Promise<T>) => timePaired(fn, py, index, repeats);
  // The fields every kind of case fills from its paired timing.
  const fromPaired = (p: Paired<unknown>) => ({ native: p.timing, moocore: p.moocore, pairedRatios: p.ratios });
  if (c.kind === 'single') {
    const native = await paired(() => hypervolume(matrix, opts));
    const rows = toRows(c.data, c.m);
    const js = await timeCalls(() => hypervolume(rows, opts), repeats);
    if (js.value.hypervolume !== native.value.hypervolume) throw new Error(`${c.name}: rows and matrix gave different values`);
    return { ...fromPaired(native), js: js.timing, hv: Float64Array.of(native.value.hypervolume) };
  }
  if (c.kind === 'batch') {
    const offsets = Int32Array.from({ length: c.fronts! + 1 }, (_, b) => b * c.size!);
    const sets = { points: c.data, offsets, m: c.m };
    const native = await paired(() => hypervolumeBatch(sets, opts));
    const frontRows = Array.from({ length: c.fronts! }, (_, b) => toRows(c.data.subarray(b * c.size! * c.m, (b + 1) * c.size! * c.m), c.m));
    const js = await timeCalls(() => hypervolumeBatch(frontRows, opts), repeats);
    if (!sameValues(js.value.hypervolume, native.value.hypervolume)) throw new Error(`${c.name}: rows and FrontSets gave different values`);
    let onGpu: MoalignResult['cuda'] = null;
    if (cuda && c.m <= 3) {
      const gpu = await timeCalls(() => hypervolumeBatch(sets, { ...opts, device: 'cuda' }), repeats);
      onGpu = { timing: gpu.timing, hv: gpu.value.hypervolume };
    }
    return { ...fromPaired(native), js: js.timing, hv: native.value.hypervolume, cuda: onGpu };
  }
  const native = await paired(() => paretoRanks(matrix, { minimise: true }));
  const rows = toRows(c.data, c.m);
  const js = await timeCalls(() => paretoRanks(rows, { minimise: true }), repeats);
  if (!sameValues(js.value, native.value)) throw new Error(`${c.name}: rows and matrix gave different ranks`);
  const front = await timeCalls(() => paretoFront(matrix, { minimise: true }), repeats);
  return { ...fromPaired(native), js: js.timing, ranks: native.value, front: { timing: front.timing, count: front.value.length } };
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

// ---------------------------------------------------------------- CLI

interface CliResult {
  wallMs: Stats;
  runs: number;
  /** The values the CLI printed: hypervolumes or ranks. */
  values: number[];
}

/** `moalign` from dist/ when it is built with these commands, else from the sources through tsx. */
function cliCommand(): { args: string[]; how: string } {
  if (existsSync(join(packageRoot, 'dist', 'cli', 'hv.js'))) return { args: [join(packageRoot, 'dist', 'cli', 'main.js')], how: 'node dist/cli/main.js' };
  return { args: ['--import', 'tsx', join(packageRoot, 'ts', 'cli', 'main.ts')], how: 'node --import tsx ts/cli/main.ts (dist/ has no hv command)' };
}

function runCli(prefix: string[], args: string[]): { ms: number; stdout: string } {
  const start = nowMs();
  const run = spawnSync(process.execPath, [...prefix, ...args], { cwd: packageRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = nowMs() - start;
  if (run.error) throw new Error(`could not run the CLI: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`moalign ${args.join(' ')} exited with ${run.status ?? run.signal}: ${run.stderr.trim()}`);
  return { ms, stdout: run.stdout };
}

/** One untimed run, then `runs` timed ones. */
function timeCli(prefix: string[], args: string[], runs: number): CliResult {
  runCli(prefix, args);
  const timed = Array.from({ length: runs }, () => runCli(prefix, args));
  const values = timed[timed.length - 1].stdout.trim().split('\n').filter(Boolean).map(Number);
  return { wallMs: stats(timed.map((t) => t.ms)), runs, values };
}

function cliArgs(c: BenchCase, threads: number): string[] {
  const common = ['--threads', String(threads)];
  if (c.kind === 'sort') return [...common, 'pareto', c.textFile, '--minimise'];
  const ref = `--ref=${new Array<number>(c.m).fill(REF).join(',')}`;
  return [...common, 'hv', c.textFile, ref, '--minimise', ...(c.kind === 'batch' ? ['--batch'] : [])];
}

// ---------------------------------------------------------------- the Python side

interface PyTiming {
  ms: Stats;
  calls: number;
  repeats: number;
}

interface PyCase {
  name: string;
  kind: CaseKind;
  moocore: PyTiming;
  hv?: number | number[];
  optuna?: PyTiming | { skipped: string };
  optunaHv?: number | number[];
  nondominated?: PyTiming;
  nondominatedCount?: number;
  fronts?: number;
}

/** What the Python session says first: its versions. */
interface PythonVersions {
  python: string;
  numpy: string;
  moocore: string;
  optuna: string | null;
  optunaNote: string | null;
}

function isTiming(x: PyCase['optuna']): x is PyTiming {
  return x !== undefined && 'ms' in x;
}

// ---------------------------------------------------------------- checks

/** Largest relative difference between two lists of values (|a - b| / |b|; absolute when b = 0). */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} values against ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / (b[i] === 0 ? 1 : Math.abs(b[i]));
    if (!(d <= worst)) worst = d; // NaN counts as the worst
  }
  return worst;
}

/** Ranks that differ (moalign 1-based against moocore 0-based + 1). */
function rankMismatches(ours: ArrayLike<number>, moocore0: Int32Array): number {
  if (ours.length !== moocore0.length) return Math.max(ours.length, moocore0.length);
  let bad = 0;
  for (let i = 0; i < ours.length; i++) if (ours[i] !== moocore0[i] + 1) bad++;
  return bad;
}

// ---------------------------------------------------------------- report

interface Row {
  case: string;
  nativeMs: number | null;
  jsMs: number | null;
  cliMs: number | null;
  moocoreMs: number | null;
  ratio: number | null;
  optuna: string;
  target: string;
  met: boolean | null;
}

function targetCell(target: Target, nativeMs: number, moocoreMs: number | null): { text: string; met: boolean | null } {
  if (target.kind === 'ms') {
    const ok = nativeMs < target.max;
    return { text: `< ${target.max} ms: ${mark(ok)}`, met: ok };
  }
  if (moocoreMs === null) return { text: 'no moocore time', met: null };
  const ratio = nativeMs / moocoreMs;
  if (target.kind === 'ratio') {
    const ok = ratio <= target.max;
    return { text: `ratio ≤ ${target.max.toFixed(1)}: ${mark(ok)}`, met: ok };
  }
  const ok = moocoreMs / nativeMs >= target.min;
  return { text: `≥ ${target.min}x faster: ${mark(ok)} (${(moocoreMs / nativeMs).toFixed(1)}x)`, met: ok };
}

function formatTable(rows: Row[]): string {
  const columns: Column<Row>[] = [
    { title: 'case', align: 'left', cell: (r) => r.case },
    { title: 'moalign native ms', align: 'right', cell: (r) => fmt(r.nativeMs) },
    { title: 'moalign JS ms', align: 'right', cell: (r) => fmt(r.jsMs) },
    { title: 'CLI ms', align: 'right', cell: (r) => fmt(r.cliMs) },
    { title: 'moocore ms', align: 'right', cell: (r) => fmt(r.moocoreMs) },
    { title: 'ratio native/moocore', align: 'right', cell: (r) => (r.ratio === null ? '—' : r.ratio < 0.1 ? r.ratio.toFixed(3) : r.ratio.toFixed(2)) },
    { title: 'optuna ms', align: 'right', cell: (r) => r.optuna },
    { title: 'target', align: 'left', cell: (r) => r.target },
  ];
  return markdownTable(rows, columns);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const values = parseBenchOptions('usage: npm run bench -- hypervolume [options]', {
    threads: { type: 'string', flag: '--threads N', help: 'moalign CPU threads for batches (default: all cores); single fronts and sorts run on one thread' },
    repeats: { type: 'string', flag: '--repeats N', help: 'timed repeats per case, after a warm-up (default 5)' },
    'cli-runs': { type: 'string', flag: '--cli-runs N', help: 'timed CLI runs per case, after one untimed run (default 3)' },
    'no-cli': { type: 'boolean', flag: '--no-cli', help: 'skip the CLI column' },
    only: { type: 'string', flag: '--only TEXT', help: 'only the cases whose name contains TEXT' },
    out: outOption('hypervolume'),
    'keep-data': BENCH_OPTIONS.keepData,
  });
  if (values === null) return;
  const resultsFile = resultsFileOf('hypervolume', values.out);
  const threads = positiveInt(values.threads, availableParallelism(), 'threads');
  const repeats = positiveInt(values.repeats, 5, 'repeats');
  const cliRuns = positiveInt(values['cli-runs'], 3, 'cli-runs');
  const withCli = !values['no-cli'];

  const busyBefore = await busyBeforeRun();

  const loaded = loadAddon();
  setNumThreads(threads);
  const info = runtimeInfo();
  if (info.numThreads !== threads) throw new Error(`setNumThreads(${threads}) did not take: ${info.numThreads}`);
  const cuda = info.cudaAvailable;
  log(`${threads} threads, ${repeats} repeats, CUDA ${cuda ? `available (${info.cudaDevices.map((d) => d.name).join(', ')})` : 'not available'}`);

  const dir = mkdtempSync(join(tmpdir(), 'moalign-hv-'));
  try {
    const defined = defineCases().filter((c) => values.only === undefined || c.name.includes(values.only));
    if (defined.length === 0) throw new OptionError(`--only ${values.only}: no case matches`);
    const dataStart = nowMs();
    const cases = defined.map((c, i) => makeData(c, dir, i));
    log(`data: ${cases.length} cases written to ${dir} in ${(nowMs() - dataStart).toFixed(0)} ms`);

    // The Python session first (it may create its venv), then each case: moalign's native call and
    // moocore's in alternating repeats, moocore's values and optuna, moalign's other timings; then
    // the CLI. Never two timed things at once: each side waits while the other runs.
    const { session, hello: versions } = await PythonSession.start<PythonVersions>(pythonExecutable(), join(here, 'hypervolume_baseline.py'), {
      dir,
      repeats,
      repeatSeconds: REPEAT_SECONDS,
      budgetSeconds: BUDGET_SECONDS,
      cases: cases.map((c, i) => ({
        name: c.name,
        kind: c.kind,
        file: c.file,
        n: c.n,
        m: c.m,
        ref: new Array<number>(c.m).fill(REF),
        ...(c.kind === 'batch' ? { fronts: c.fronts, size: c.size } : {}),
        ...(c.kind === 'sort' ? { ranksFile: `case${i}.ranks.i32` } : { optuna: c.optuna }),
      })),
    });
    const ours: MoalignResult[] = [];
    try {
      for (const [i, c] of cases.entries()) {
        const r = await runMoalign(c, i, session, repeats, cuda);
        log(`${c.name}: native ${fmt(r.native.ms.median)} ms (moocore ${fmt(r.moocore.moocore.ms.median)} ms in the same rounds), JS ${fmt(r.js?.ms.median ?? null)} ms${r.cuda ? `, cuda ${fmt(r.cuda.timing.ms.median)} ms` : ''}`);
        ours.push(r);
      }
    } finally {
      await session.close();
    }
    const py = { ...versions, cases: ours.map((r) => r.moocore) };
    const cli = cliCommand();
    const cliResults: (CliResult | null)[] = [];
    let cliStartup: CliResult | null = null;
    if (withCli) {
      log(`CLI: ${cli.how}, ${cliRuns} timed runs per case after one untimed run`);
      const tiny = join(dir, 'one-point.txt');
      writeFileSync(tiny, '0.5,0.5\n');
      cliStartup = timeCli(cli.args, ['--threads', String(threads), 'hv', tiny, `--ref=${REF},${REF}`, '--minimise'], cliRuns);
      log(`CLI start-up (hv of one 2-D point): ${fmt(cliStartup.wallMs.median)} ms`);
      for (const c of cases) {
        const r = timeCli(cli.args, cliArgs(c, threads), cliRuns);
        log(`${c.name}: CLI ${fmt(r.wallMs.median)} ms`);
        cliResults.push(r);
      }
    }

    // Values: moalign (native, CLI, cuda) against moocore.
    const checks: Record<string, unknown>[] = [];
    let worstHv = 0;
    let worstCli = null as number | null; // (assigned in a callback: keep TS from narrowing these to null)
    let worstCuda = null as number | null;
    let rankErrors = 0;
    let cliRankErrors = null as number | null;
    cases.forEach((c, i) => {
      const p = py.cases[i];
      if (p.name !== c.name) throw new Error(`the Python side answered ${p.name} for ${c.name}`);
      const r = ours[i];
      const check: Record<string, unknown> = { case: c.name };
      if (c.kind === 'sort') {
        const moocore0 = new Int32Array(new Uint8Array(readFileSync(join(dir, `case${i}.ranks.i32`))).buffer);
        check.rankMismatches = rankMismatches(r.ranks!, moocore0);
        check.cliRankMismatches = cliResults[i] ? rankMismatches(cliResults[i]!.values, moocore0) : null;
        check.fronts = { moalign: r.ranks!.reduce((a, b) => Math.max(a, b), 0), moocore: p.fronts };
        check.frontSize = { moalign: r.front!.count, moocore: p.nondominatedCount };
        rankErrors += (check.rankMismatches as number) + (r.front!.count === p.nondominatedCount ? 0 : 1);
        if (check.cliRankMismatches !== null) cliRankErrors = (cliRankErrors ?? 0) + (check.cliRankMismatches as number);
      } else {
        const ref = typeof p.hv === 'number' ? [p.hv] : p.hv!;
        check.maxRelDiff = maxRelDiff(r.hv!, ref, c.name);
        check.cliMaxRelDiff = cliResults[i] ? maxRelDiff(cliResults[i]!.values, ref, `${c.name} (CLI)`) : null;
        worstHv = Math.max(worstHv, check.maxRelDiff as number);
        if (check.cliMaxRelDiff !== null) worstCli = Math.max(worstCli ?? 0, check.cliMaxRelDiff as number);
        if (r.cuda) {
          check.cudaMaxRelDiff = maxRelDiff(r.cuda.hv, ref, `${c.name} (cuda)`);
          worstCuda = Math.max(worstCuda ?? 0, check.cudaMaxRelDiff as number);
        }
        if (p.optunaHv !== undefined) {
          check.optunaMaxRelDiff = maxRelDiff(typeof p.optunaHv === 'number' ? [p.optunaHv] : p.optunaHv, ref, `${c.name} (optuna)`);
        }
      }
      checks.push(check);
    });

    const rows: Row[] = [];
    cases.forEach((c, i) => {
      const r = ours[i];
      const p = py.cases[i];
      const moocoreMs = p.moocore.ms.median;
      const optuna = isTiming(p.optuna) ? fmt(p.optuna.ms.median) + (p.optuna.repeats === 1 && p.optuna.calls === 1 ? ' (1 call)' : '') : p.optuna ? `skipped: ${p.optuna.skipped}` : '—';
      const t = targetCell(c.target, r.native.ms.median, moocoreMs);
      rows.push({
        case: c.name,
        nativeMs: r.native.ms.median,
        jsMs: r.js?.ms.median ?? null,
        cliMs: cliResults[i]?.wallMs.median ?? null,
        moocoreMs,
        ratio: r.native.ms.median / moocoreMs,
        optuna,
        target: t.text,
        met: t.met,
      });
      if (r.cuda) {
        const g = targetCell(c.target, r.cuda.timing.ms.median, moocoreMs);
        rows.push({ case: '  same, device cuda', nativeMs: r.cuda.timing.ms.median, jsMs: null, cliMs: null, moocoreMs, ratio: r.cuda.timing.ms.median / moocoreMs, optuna: '', target: g.text, met: g.met });
      }
      if (c.kind === 'sort') {
        const f = r.front!.timing.ms.median;
        const nd = p.nondominated!.ms.median;
        rows.push({ case: '  first front only: paretoFront vs is_nondominated', nativeMs: f, jsMs: null, cliMs: null, moocoreMs: nd, ratio: f / nd, optuna: '', target: '', met: null });
      }
    });
    if (cliStartup) rows.push({ case: 'CLI start-up: hv of one 2-D point', nativeMs: null, jsMs: null, cliMs: cliStartup.wallMs.median, moocoreMs: null, ratio: null, optuna: '', target: '', met: null });

    const table = formatTable(rows);
    const notes = [
      `medians of ${repeats} repeats after a warm-up (a repeat: back-to-back calls lasting ≈${REPEAT_SECONDS} s, mean per call; CLI: median of ${cliRuns} runs after one untimed run)`,
      'native and moocore timed in alternating repeats, one of each per round, so that both see the machine in the same minutes; the JSON has each round\'s ratio',
      `moalign: ${threads} threads for batches (--threads); single fronts and sorts run on one thread. moocore and optuna are single-threaded (nothing to pass them)`,
      'moocore batches: a Python loop of moocore.hypervolume over the 1,000 fronts, its per-call overhead included; sorts: moocore.pareto_rank (all ranks)',
      'JS: the same call from number[][] rows, conversion included; CLI: wall time of a fresh process (start-up and libtorch load included) via ' + (withCli ? cli.how : '(skipped)'),
      `values against moocore (limit ${MAX_REL_DIFF} relative; ranks exactly): library (native = JS, bit for bit) max ${worstHv.toExponential(2)}, rank mismatches ${rankErrors}` +
        (worstCli === null ? '' : `; CLI max ${worstCli.toExponential(2)}, rank mismatches ${cliRankErrors ?? 0}`) +
        (worstCuda === null ? '' : `; cuda max ${worstCuda.toExponential(2)}`),
      `optuna ${py.optuna ?? `not installed${py.optunaNote ? ` (${py.optunaNote})` : ''}`}: optuna._hypervolume.compute_hypervolume, skipped where one call or the batch loop would exceed ${BUDGET_SECONDS} s`,
      `moocore ${py.moocore}, numpy ${py.numpy}, Python ${py.python}; data: DTLZ linear fronts (simplex sum = 1, minimisation, ref ${REF} on every axis), uniform points for the sorts`,
    ];
    console.log(`\n${table}\n`);
    for (const note of notes) console.log(`- ${note}`);

    const report = {
      date: new Date().toISOString(),
      command: `npm run bench -- hypervolume ${process.argv.slice(2).join(' ')}`.trim(),
      machine: {
        ...machineFacts(),
        python: py.python,
        busyBefore,
        cuda: info.cudaAvailable ? info.cudaDevices : null,
      },
      versions: { moocore: py.moocore, numpy: py.numpy, optuna: py.optuna, optunaNote: py.optunaNote, buildInfo: loaded.buildInfo },
      settings: { threads, repeats, cliRuns, cli: withCli ? cli.how : null, repeatSeconds: REPEAT_SECONDS, budgetSeconds: BUDGET_SECONDS, ref: REF },
      cases: cases.map((c, i) => ({
        name: c.name,
        kind: c.kind,
        m: c.m,
        n: c.n,
        fronts: c.fronts ?? null,
        size: c.size ?? null,
        target: c.target,
        moalign: { native: ours[i].native, js: ours[i].js, cuda: ours[i].cuda?.timing ?? null, front: ours[i].front?.timing ?? null },
        cli: cliResults[i] ? { wallMs: cliResults[i]!.wallMs, runs: cliResults[i]!.runs } : null,
        moocore: py.cases[i].moocore,
        pairedRatios: { median: stats(ours[i].pairedRatios).median, rounds: ours[i].pairedRatios },
        moocoreNondominated: py.cases[i].nondominated ?? null,
        optuna: py.cases[i].optuna ?? null,
        hypervolume: c.kind === 'single' ? ours[i].hv![0] : null,
        checks: checks[i],
      })),
      cliStartup: cliStartup ? { wallMs: cliStartup.wallMs, runs: cliStartup.runs } : null,
      worstRelDiff: worstHv,
      worstCliRelDiff: worstCli,
      worstCudaRelDiff: worstCuda,
      rankErrors,
      cliRankErrors,
      rows,
      table,
      notes,
    };
    writeResults(resultsFile, report);
    const cudaBad = worstCuda !== null && worstCuda > MAX_REL_DIFF;
    const cliBad = (worstCli !== null && worstCli > MAX_REL_DIFF) || (cliRankErrors ?? 0) > 0;
    if (worstHv > MAX_REL_DIFF || rankErrors > 0 || cliBad || cudaBad) {
      const parts = [`library: max relative difference ${worstHv}, rank mismatches ${rankErrors}`];
      if (cliBad) parts.push(`CLI: max relative difference ${worstCli}, rank mismatches ${cliRankErrors}`);
      if (cudaBad) parts.push(`cuda: max relative difference ${worstCuda}`);
      console.error(`moalign bench: values differ from moocore (${parts.join('; ')})`);
      process.exitCode = 1;
    }
  } finally {
    removeDataDir(dir, Boolean(values['keep-data']));
  }
}

await runBenchmark(main);
