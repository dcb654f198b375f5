// Foundation benchmark: moalign's native engine against Python PyTorch eager on this machine,
// in one run, with the same thread count on both sides. Prints a table, writes
// bench/results/foundation.json. Never run by tests or CI: timings are not assertions.
//
//   npx tsx bench/foundation.ts [--threads N] [--repeats N] [--out FILE]
//
// Order matters and is fixed: process start-up first (spawned while this process is still small,
// since fork() costs grow with the parent's memory), then the JS-thread cases (boundary,
// autograd), then benchmarkMatmul (async, on the compute thread), then autograd once more, then Python.
// Every figure is the median of `repeats` timed repeats that follow an untimed warm-up.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchmarkMatmul, loadAddon, resolveLibtorch, runtimeInfo, setNumThreads, tensor, type Libtorch } from '../ts/index.js';
import { pythonEnvFor, pythonExecutable } from '../ts/native/libtorch.js';
import { packageRoot } from '../ts/paths.js';
import { busyBeforeRun, type Column, log, machineFacts, markdownTable, outOption, parseBenchOptions, positiveInt, resultsFileOf, runBenchmark, runPythonScript, type Stats, stats, writeResults } from './common.js';

const MATMUL_SIZES = [128, 512, 1024];
const MATMUL_DTYPES = ['float32', 'float64'] as const;
type MatmulDType = (typeof MATMUL_DTYPES)[number];
/** Seconds one timed repeat should take (counts are calibrated on moalign, then reused by Python). */
const REPEAT_SECONDS = 0.3;
const BOUNDARY_ELEMENTS = 1_000_000;
const AUTOGRAD_N = 256;
const LOAD_SPAWNS = 3;

const here = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- statistics and timing

/** Mean microseconds per call of `fn` over `calls` back-to-back calls. */
function usPerCall(fn: () => void, calls: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e3 / calls;
}

/**
 * How many calls of `fn` take about `seconds`: one untimed call (lazy set-up), then doubling
 * batches until one lasts 20 ms; that batch runs twice and the faster run counts.
 */
function callsFor(fn: () => void, seconds: number): number {
  fn();
  for (let calls = 1; ; calls *= 2) {
    if (usPerCall(fn, calls) * calls < 20_000) continue;
    const us = Math.min(usPerCall(fn, calls), usPerCall(fn, calls)) * calls;
    return Math.max(1, Math.round((seconds * 1e6 * calls) / us));
  }
}

/**
 * Context switches of this process's live threads so far, from /proc/self/task/<tid>/status
 * (Linux): a thread that gives up its core mid-computation shows up here. null without /proc.
 */
function contextSwitches(): number | null {
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return null;
  }
  let total = 0;
  for (const task of tasks) {
    try {
      const status = readFileSync(`/proc/self/task/${task}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s*(\d+)$/gm)) total += Number(m[1]);
    } catch {
      // the thread exited meanwhile
    }
  }
  return total;
}

/** Minor page faults of this process so far (field 10 of /proc/self/stat), or null without /proc. */
function minorFaults(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]); // from the 3rd field (state) on
  } catch {
    return null;
  }
}

function perUnit(before: number | null, after: number | null, units: number): number | null {
  return before === null || after === null ? null : (after - before) / units;
}

function randomFloat32(length: number): Float32Array {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = Math.random() * 2 - 1;
  return data;
}

// ---------------------------------------------------------------- other load on the machine

/** CPU time of the whole machine and of this process with its finished children. */
interface CpuMark {
  wallMs: number;
  machineBusyMs: number;
  ownMs: number | null;
}

function cpuMark(): CpuMark {
  let machineBusyMs = 0;
  for (const { times } of cpus()) machineBusyMs += times.user + times.nice + times.sys + times.irq;
  return { wallMs: performance.now(), machineBusyMs, ownMs: ownCpuMs() };
}

/** utime + stime + cutime + cstime of /proc/self/stat (proc(5)); children count once waited for. */
function ownCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from the 3rd field (state) on
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return ticks * 10; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** Share of all CPUs that other processes used between two marks: near 0 when the machine was ours. */
function otherLoad(from: CpuMark, to: CpuMark): number | null {
  if (from.ownMs === null || to.ownMs === null) return null;
  const others = to.machineBusyMs - from.machineBusyMs - (to.ownMs - from.ownMs);
  return Math.max(0, others / ((to.wallMs - from.wallMs) * cpus().length));
}

// ---------------------------------------------------------------- 4. process start-up and load time

/** Wall-clock milliseconds of a fresh process, from spawn to exit, and its stdout. */
function spawnWall(command: string, args: string[], options: SpawnSyncOptions): { ms: number; stdout: string } {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { ...options, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.error) throw new Error(`could not run ${command}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${run.status ?? run.signal}: ${String(run.stderr).trim()}`);
  return { ms, stdout: String(run.stdout) };
}

/** One untimed spawn (file cache, moalign's load-check cache), then LOAD_SPAWNS timed ones. */
function spawnMedian(command: string, args: string[], options: SpawnSyncOptions): { wallMs: Stats; stdout: string[] } {
  spawnWall(command, args, options);
  const runs = Array.from({ length: LOAD_SPAWNS }, () => spawnWall(command, args, options));
  return { wallMs: stats(runs.map((r) => r.ms)), stdout: runs.map((r) => r.stdout) };
}

// The package imports itself by name (package.json "exports" self-reference), i.e. dist/index.js.
const LOAD_SNIPPET = [
  'const t0 = performance.now();',
  "const m = await import('moalign');",
  'const t1 = performance.now();',
  'm.loadAddon();',
  'const t2 = performance.now();',
  'console.log(JSON.stringify({ importMs: t1 - t0, loadAddonMs: t2 - t1 }));',
].join(' ');

interface LoadResults {
  nodeBareMs: Stats;
  pythonBareMs: Stats;
  torchImportMs: Stats;
  moalignMs: Stats | null;
  moalignImportMs: Stats | null;
  moalignLoadAddonMs: Stats | null;
  note: string | null;
}

function measureLoad(python: string, env: NodeJS.ProcessEnv): LoadResults {
  const nodeBareMs = spawnMedian(process.execPath, ['-e', ''], { cwd: packageRoot }).wallMs;
  const pythonBareMs = spawnMedian(python, ['-c', ''], { env }).wallMs;
  const torchImportMs = spawnMedian(python, ['-c', 'import torch'], { env }).wallMs;
  const base = { nodeBareMs, pythonBareMs, torchImportMs };
  if (!existsSync(join(packageRoot, 'dist', 'index.js'))) {
    const note = 'dist/ is not built (npm run build:ts): moalign load time not measured';
    return { ...base, moalignMs: null, moalignImportMs: null, moalignLoadAddonMs: null, note };
  }
  const moalign = spawnMedian(process.execPath, ['--input-type=module', '-e', LOAD_SNIPPET], { cwd: packageRoot });
  const inner = moalign.stdout.map((line) => JSON.parse(line) as { importMs: number; loadAddonMs: number });
  return {
    ...base,
    moalignMs: moalign.wallMs,
    moalignImportMs: stats(inner.map((r) => r.importMs)),
    moalignLoadAddonMs: stats(inner.map((r) => r.loadAddonMs)),
    note: null,
  };
}

// ---------------------------------------------------------------- 2. boundary costs

/** Per-call latency of one operation: repeat medians and fastest calls, plus the loop mean. */
interface CallCost {
  /** Median call of each repeat (what one call usually costs). */
  medianUs: Stats;
  /** Fastest call of each repeat. */
  fastestUs: Stats;
  /** Mean per call of a tight loop, garbage collection and page faults included. */
  loopUs: Stats;
  /** Minor page faults per call, timed one by one and in the tight loop: about bytes/4096 when every call gets fresh pages. */
  faultsPerCall: number | null;
  loopFaultsPerCall: number | null;
}

/** Times each call on its own (`calls` per repeat), then the same count as one tight loop. */
function callCost(fn: () => void, repeats: number): CallCost {
  const calls = callsFor(fn, REPEAT_SECONDS / 2);
  usPerCall(fn, Math.max(1, Math.ceil(calls / 5))); // warm-up
  const medians: number[] = [];
  const fastest: number[] = [];
  const latencies = new Float64Array(calls);
  const faults = minorFaults();
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < calls; i++) {
      const start = process.hrtime.bigint();
      fn();
      latencies[i] = Number(process.hrtime.bigint() - start) / 1e3;
    }
    const repeat = stats([...latencies]);
    medians.push(repeat.median);
    fastest.push(repeat.min);
  }
  const loopFaults = minorFaults();
  const faultsPerCall = perUnit(faults, loopFaults, calls * repeats);
  const loopUs = stats(Array.from({ length: repeats }, () => usPerCall(fn, calls)));
  const loopFaultsPerCall = perUnit(loopFaults, minorFaults(), calls * repeats);
  return { medianUs: stats(medians), fastestUs: stats(fastest), loopUs, faultsPerCall, loopFaultsPerCall };
}

interface BoundaryResults {
  bytes: number;
  /** tensor(data, shape) then dispose(): one copy into a fresh libtorch allocation. */
  copyIn: CallCost;
  /** GB/s of each repeat's median copy-in call. */
  copyInGBps: Stats;
  /** Float32Array.prototype.slice() of the same data: a plain JS copy, for reference. */
  slice: CallCost;
  /** toArray() of a 1e6-element tensor and of a 1000-element one: zero-copy views. */
  toArrayBig: CallCost;
  toArraySmall: CallCost;
}

/** Copy-in through the constructor, zero-copy out through toArray(), and a plain JS copy for reference. */
function moalignBoundary(repeats: number): BoundaryResults {
  const data = randomFloat32(BOUNDARY_ELEMENTS);
  const bytes = data.byteLength;
  const copyIn = callCost(() => tensor(data, [BOUNDARY_ELEMENTS]).dispose(), repeats);
  const slice = callCost(() => void data.slice(), repeats);
  using big = tensor(data, [BOUNDARY_ELEMENTS]);
  using small = tensor(data.subarray(0, 1000), [1000]);
  const toArrayBig = callCost(() => void big.toArray(), repeats);
  const toArraySmall = callCost(() => void small.toArray(), repeats);
  const copyInGBps = stats(copyIn.medianUs.samples.map((us) => bytes / (us * 1e3)));
  const faultNote = copyIn.faultsPerCall === null ? '' : `, ${copyIn.faultsPerCall.toFixed(0)} page faults per call`;
  log(`tensor() copy-in of ${BOUNDARY_ELEMENTS} float32: ${copyIn.medianUs.median.toFixed(0)} us${faultNote}; toArray(): ${toArrayBig.medianUs.median.toFixed(2)} us`);
  return { bytes, copyIn, copyInGBps, slice, toArrayBig, toArraySmall };
}

// ---------------------------------------------------------------- 3. autograd step

interface AutogradResults {
  steps: number;
  warmup: number;
  usPerStep: Stats;
  switchesPerStep: number | null;
  faultsPerStep: number | null;
}

/** Microseconds per (A @ B).sum().backward() step on the JS thread; gradients accumulate, as in Python. */
function moalignAutograd(repeats: number, steps?: number): AutogradResults {
  const n = AUTOGRAD_N;
  using a = tensor(randomFloat32(n * n), [n, n], { requiresGrad: true }); // (n, n)
  using b = tensor(randomFloat32(n * n), [n, n], { requiresGrad: true }); // (n, n)
  const step = () => {
    using product = a.matmul(b); // (n, n)
    using total = product.sum(); // ()
    total.backward();
  };
  const count = steps ?? callsFor(step, REPEAT_SECONDS);
  const warmup = Math.max(1, Math.ceil(count / 5));
  usPerCall(step, warmup);
  const switches = contextSwitches();
  const faults = minorFaults();
  const usPerStep = stats(Array.from({ length: repeats }, () => usPerCall(step, count)));
  const switchesPerStep = perUnit(switches, contextSwitches(), count * repeats);
  const faultsPerStep = perUnit(faults, minorFaults(), count * repeats);
  const switchNote = switchesPerStep === null || faultsPerStep === null ? '' : `, per step ${switchesPerStep.toFixed(1)} context switches and ${faultsPerStep.toFixed(0)} page faults`;
  log(`autograd n=${n}: ${usPerStep.median.toFixed(0)} us/step (${count} steps per repeat${switchNote})`);
  return { steps: count, warmup, usPerStep, switchesPerStep, faultsPerStep };
}

// ---------------------------------------------------------------- 1. matmul throughput

interface MatmulResult {
  n: number;
  dtype: MatmulDType;
  iterations: number;
  gflops: Stats;
  switchesPerProduct: number | null;
}

/** Iterations of benchmarkMatmul that take about REPEAT_SECONDS, calibrated as in callsFor(). */
async function calibrateMatmul(n: number, dtype: MatmulDType): Promise<number> {
  const secondsFor = async (iterations: number) => (await benchmarkMatmul({ size: n, iterations, dtype })).seconds;
  for (let iterations = 1; ; iterations *= 2) {
    if ((await secondsFor(iterations)) < 0.05) continue;
    const seconds = Math.min(await secondsFor(iterations), await secondsFor(iterations));
    return Math.max(3, Math.round((REPEAT_SECONDS * iterations) / seconds));
  }
}

async function moalignMatmul(n: number, dtype: MatmulDType, repeats: number, threads: number): Promise<MatmulResult> {
  const iterations = await calibrateMatmul(n, dtype);
  await benchmarkMatmul({ size: n, iterations, dtype }); // warm-up repeat
  const switches = contextSwitches();
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const result = await benchmarkMatmul({ size: n, iterations, dtype });
    if (result.threads !== threads) throw new Error(`benchmarkMatmul ran with ${result.threads} threads, expected ${threads}`);
    samples.push(result.gflops);
  }
  const switchesPerProduct = perUnit(switches, contextSwitches(), iterations * repeats);
  const gflops = stats(samples);
  const switchNote = switchesPerProduct === null ? '' : `, ${switchesPerProduct.toFixed(2)} context switches per product`;
  log(`matmul n=${n} ${dtype}: ${gflops.median.toFixed(1)} GFLOP/s (${iterations} products per repeat${switchNote})`);
  return { n, dtype, iterations, gflops, switchesPerProduct };
}

// ---------------------------------------------------------------- the Python side

interface PythonResults {
  python: string;
  torch: string;
  torchFile: string;
  threads: number;
  parallelInfo: string;
  matmul: { n: number; dtype: MatmulDType; iterations: number; gflops: Stats; switchesPerProduct: number | null }[];
  autograd: { n: number; steps: number; warmup: number; usPerStep: Stats; switchesPerStep: number | null; faultsPerStep: number | null };
}

function runPythonBaseline(python: string, env: NodeJS.ProcessEnv, config: object): PythonResults {
  return runPythonScript<PythonResults>(python, join(here, 'foundation_baseline.py'), config, env);
}

// ---------------------------------------------------------------- report

interface Row {
  case: string;
  unit: string;
  better: 'higher' | 'lower';
  moalign: Stats | null;
  python: Stats | null;
  /** moalign median / python median. */
  ratio: number | null;
}

function row(name: string, unit: string, better: Row['better'], moalign: Stats | null, python: Stats | null = null): Row {
  const ratio = moalign && python ? moalign.median / python.median : null;
  return { case: name, unit, better, moalign, python, ratio };
}

/** One measured number as Stats (no spread), or null. */
function single(x: number | null): Stats | null {
  return x === null ? null : stats([x]);
}

/** A count per operation on both sides, shown without ratio (counts near zero make ratios meaningless). */
function diagnosticRow(name: string, moalign: number | null, python: number | null): Row {
  return { ...row(name, 'count', 'lower', single(moalign), single(python)), ratio: null };
}

function fmt(x: number): string {
  const abs = Math.abs(x);
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** Half the min-max range of the repeats, relative to the median. */
function spread(s: Stats | null): string {
  return s && s.samples.length > 1 ? `±${((50 * (s.max - s.min)) / s.median).toFixed(0)}%` : '';
}

const COLUMNS: Record<'case' | 'unit' | 'moalign' | 'moalignSpread' | 'python' | 'pythonSpread' | 'ratio', Column<Row>> = {
  case: { title: 'case', align: 'left', cell: (r) => r.case },
  unit: { title: 'unit', align: 'left', cell: (r) => `${r.unit} ${r.better === 'higher' ? '↑' : '↓'}` },
  moalign: { title: 'moalign', align: 'right', cell: (r) => (r.moalign ? fmt(r.moalign.median) : '—') },
  moalignSpread: { title: '±', align: 'right', cell: (r) => spread(r.moalign) },
  python: { title: 'python', align: 'right', cell: (r) => (r.python ? fmt(r.python.median) : '—') },
  pythonSpread: { title: '±', align: 'right', cell: (r) => spread(r.python) },
  ratio: { title: 'moalign/python', align: 'right', cell: (r) => (r.ratio === null ? '—' : r.ratio.toFixed(2)) },
};

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const values = parseBenchOptions('usage: npm run bench -- foundation [options]', {
    threads: { type: 'string', flag: '--threads N', help: 'CPU threads on both sides (default 2)' },
    repeats: { type: 'string', flag: '--repeats N', help: 'timed repeats per case (default 5)' },
    out: outOption('foundation'),
  });
  if (values === null) return;
  const resultsFile = resultsFileOf('foundation', values.out);
  const threads = positiveInt(values.threads, 2, 'threads');
  const repeats = positiveInt(values.repeats, 5, 'repeats');

  const busyBefore = await busyBeforeRun();
  const lt = resolveLibtorch();
  const python = pythonExecutable();
  const pyEnv = pythonEnvFor(lt);
  const marks: CpuMark[] = [cpuMark()];

  // 4. Start-up first, while this process is small and has not loaded libtorch.
  log(`load time: ${LOAD_SPAWNS} fresh processes each, after one untimed spawn`);
  const load = measureLoad(python, pyEnv);
  if (load.note) log(load.note);
  marks.push(cpuMark());

  // 2, 3, 1: moalign, JS-thread cases before any async work, then autograd again after it.
  const loaded = loadAddon();
  setNumThreads(threads);
  if (runtimeInfo().numThreads !== threads) throw new Error(`setNumThreads(${threads}) did not take: ${runtimeInfo().numThreads}`);
  log(`libtorch ${lt.fullVersion} (${lt.source}), ${threads} threads, ${repeats} repeats`);
  const boundary = moalignBoundary(repeats);
  const autograd = moalignAutograd(repeats);
  const matmul: MatmulResult[] = [];
  for (const dtype of MATMUL_DTYPES) {
    for (const n of MATMUL_SIZES) matmul.push(await moalignMatmul(n, dtype, repeats, threads));
  }
  const autogradAfterPool = moalignAutograd(repeats, autograd.steps);
  marks.push(cpuMark());

  // Python: the same counts, after moalign is done (never both at once).
  const py = runPythonBaseline(python, pyEnv, {
    threads,
    repeats,
    matmul: matmul.map(({ n, dtype, iterations }) => ({ n, dtype, iterations })),
    autograd: { n: AUTOGRAD_N, steps: autograd.steps, warmup: autograd.warmup },
  });
  if (py.threads !== threads) throw new Error(`Python ran with ${py.threads} threads, expected ${threads}`);
  const sameTorch = py.torch === lt.fullVersion;
  if (!sameTorch) log(`warning: Python's torch is ${py.torch} (${py.torchFile}), moalign's libtorch is ${lt.fullVersion}`);
  marks.push(cpuMark());

  const [loadSection, moalignSection, pythonSection] = [0, 1, 2].map((i) => otherLoad(marks[i], marks[i + 1]));
  const otherLoads = { load: loadSection, moalign: moalignSection, python: pythonSection };
  const pct = (x: number | null) => (x === null ? 'unknown' : `${(x * 100).toFixed(1)}%`);
  const otherLine = `other processes used ${pct(loadSection)} / ${pct(moalignSection)} / ${pct(pythonSection)} of the CPUs during the load / moalign / python sections`;
  if (Object.values(otherLoads).some((x) => x !== null && x > 0.05)) log(`warning: ${otherLine}; rerun on a quiet machine`);

  const pyMatmul = (m: MatmulResult) => py.matmul.find((p) => p.n === m.n && p.dtype === m.dtype) ?? null;
  const k = `${BOUNDARY_ELEMENTS / 1e6}e6`;
  const rows: Row[] = [
    ...matmul.map((m) => row(`matmul ${m.n}x${m.n} ${m.dtype}`, 'GFLOP/s', 'higher', m.gflops, pyMatmul(m)?.gflops ?? null)),
    row(`autograd step, (A@B).sum().backward(), ${AUTOGRAD_N}x${AUTOGRAD_N} f32`, 'µs/step', 'lower', autograd.usPerStep, py.autograd.usPerStep),
    row('  same, after async benchmarkMatmul work', 'µs/step', 'lower', autogradAfterPool.usPerStep, py.autograd.usPerStep),
    row(`tensor() copy-in + dispose, ${k} f32 (4 MB): median call`, 'µs', 'lower', boundary.copyIn.medianUs),
    row('  same, as throughput', 'GB/s', 'higher', boundary.copyInGBps),
    row('  same, fastest call', 'µs', 'lower', boundary.copyIn.fastestUs),
    row('  tight loop: mean per call', 'µs', 'lower', boundary.copyIn.loopUs),
    row(`reference: Float32Array.slice(), ${k} f32: median call`, 'µs', 'lower', boundary.slice.medianUs),
    row(`toArray() zero-copy, ${k} f32: median call`, 'µs', 'lower', boundary.toArrayBig.medianUs),
    row('  tight loop: mean per call (GC included)', 'µs', 'lower', boundary.toArrayBig.loopUs),
    row('toArray() zero-copy, 1000 f32: median call', 'µs', 'lower', boundary.toArraySmall.medianUs),
    row('  tight loop: mean per call (GC included)', 'µs', 'lower', boundary.toArraySmall.loopUs),
    row("start-up: node -e '' vs python3 -c ''", 'ms', 'lower', load.nodeBareMs, load.pythonBareMs),
    row("load: node, import 'moalign' + loadAddon() vs python3 -c 'import torch'", 'ms', 'lower', load.moalignMs, load.torchImportMs),
    row('  of which the import (timed inside)', 'ms', 'lower', load.moalignImportMs),
    row('  of which loadAddon() (timed inside)', 'ms', 'lower', load.moalignLoadAddonMs),
  ];

  // Why a time is what it is: threads giving up their core, and fresh pages from the kernel.
  const diagnostics: Row[] = [
    ...matmul.map((m) => diagnosticRow(`context switches per product, matmul ${m.n} ${m.dtype}`, m.switchesPerProduct, pyMatmul(m)?.switchesPerProduct ?? null)),
    diagnosticRow('context switches per autograd step', autograd.switchesPerStep, py.autograd.switchesPerStep),
    diagnosticRow('  same, after async benchmarkMatmul work', autogradAfterPool.switchesPerStep, py.autograd.switchesPerStep),
    diagnosticRow('minor page faults per autograd step', autograd.faultsPerStep, py.autograd.faultsPerStep),
    diagnosticRow('  same, after async benchmarkMatmul work', autogradAfterPool.faultsPerStep, py.autograd.faultsPerStep),
    diagnosticRow('minor page faults per tensor() copy-in, one call at a time', boundary.copyIn.faultsPerCall, null),
    diagnosticRow('  same, tight loop', boundary.copyIn.loopFaultsPerCall, null),
  ];

  const table = markdownTable(rows, Object.values(COLUMNS));
  const diagnosticTable = markdownTable(diagnostics, [COLUMNS.case, COLUMNS.moalign, COLUMNS.python]);
  console.log(`\n${table}\n`);
  console.log(`medians of ${repeats} repeats (load: of ${LOAD_SPAWNS} spawns); ± is half the min-max range; ↑/↓: which way is better`);
  console.log(otherLine);
  console.log(`\n${diagnosticTable}\n`);

  const report = {
    date: new Date().toISOString(),
    command: `npx tsx bench/foundation.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      ...machineFacts(),
      python: py.python,
      torch: lt.fullVersion,
      threads,
      /** Busy share of all CPUs in the second before the run, and the share other processes took in each section. */
      busyBefore,
      otherLoad: otherLoads,
    },
    torch: {
      moalign: { version: lt.fullVersion, source: lt.source, root: lt.root, buildInfo: loaded.buildInfo },
      python: { version: py.torch, file: py.torchFile },
      sameVersion: sameTorch,
      parallelInfo: { moalign: runtimeInfo().parallelInfo, python: py.parallelInfo },
    },
    settings: { threads, repeats, repeatSeconds: REPEAT_SECONDS, loadSpawns: LOAD_SPAWNS },
    cases: {
      matmul: matmul.map((m) => ({ ...m, python: pyMatmul(m) })),
      autograd: { n: AUTOGRAD_N, moalign: autograd, moalignAfterPool: autogradAfterPool, python: py.autograd },
      boundary,
      load,
    },
    rows,
    diagnostics,
    table,
    diagnosticTable,
  };
  writeResults(resultsFile, report);
}

await runBenchmark(main);
