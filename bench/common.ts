// Helpers shared by the benchmark scripts: logging, statistics of timed samples, option parsing,
// the machine's CPU model, running a Python baseline, Markdown tables.
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { packageRoot } from '../ts/paths.js';

export function log(message: string): void {
  process.stderr.write(`[moalign] ${message}\n`);
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

/** A timed function: milliseconds per call over the repeats. */
export interface Timing {
  ms: Stats;
  calls: number;
  repeats: number;
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * How many back-to-back calls make a repeat last about `repeatSeconds`: one untimed warm-up call
 * (a second one when it took over 20 ms; the shorter is the estimate). Returns the last value too.
 */
export async function prepareCalls<T>(fn: () => T | Promise<T>, repeatSeconds: number): Promise<{ calls: number; estimateMs: number; value: T }> {
  let { ms: estimateMs, value } = await timedRepeat(fn, 1);
  if (estimateMs > 20) estimateMs = Math.min(estimateMs, (await timedRepeat(fn, 1)).ms);
  return { calls: Math.max(1, Math.round((repeatSeconds * 1e3) / Math.max(estimateMs, 1e-6))), estimateMs, value };
}

/** One timed repeat: the mean milliseconds per call over `calls` back-to-back calls, and the last value. Sync calls are not awaited. */
export async function timedRepeat<T>(fn: () => T | Promise<T>, calls: number): Promise<{ ms: number; value: T }> {
  let value!: T;
  const start = nowMs();
  for (let i = 0; i < calls; i++) {
    const out = fn();
    value = out instanceof Promise ? await out : out;
  }
  return { ms: (nowMs() - start) / calls, value };
}

/** `repeats`, or fewer (at least one) where repeats of `repeatMs` would take more than `budgetSeconds`. */
export function repeatsWithin(repeats: number, repeatMs: number, budgetSeconds: number): number {
  return Math.max(1, Math.min(repeats, Math.floor((budgetSeconds * 1e3) / Math.max(repeatMs, 1e-6))));
}

/**
 * One untimed warm-up call (its time is the estimate; a second one when it took over 20 ms), then
 * `repeats` repeats of `calls` calls lasting about `repeatSeconds`, fewer repeats if they would
 * exceed `budgetSeconds`. Returns the timing and the last call's value. Sync calls are not awaited.
 */
export async function timeCalls<T>(
  fn: () => T | Promise<T>,
  repeats: number,
  { repeatSeconds, budgetSeconds }: { repeatSeconds: number; budgetSeconds: number },
): Promise<{ timing: Timing; value: T }> {
  let { calls, estimateMs, value } = await prepareCalls(fn, repeatSeconds);
  const samples: number[] = [];
  for (let r = repeatsWithin(repeats, estimateMs * calls, budgetSeconds); r > 0; r--) {
    const repeat = await timedRepeat(fn, calls);
    samples.push(repeat.ms);
    value = repeat.value;
  }
  return { timing: { ms: stats(samples), calls, repeats: samples.length }, value };
}

/** A bad command-line option: reported by its message alone. */
export class OptionError extends Error {}

export function positiveInt(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new OptionError(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

function cpuModel(): string {
  try {
    const model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1];
    if (model) return model.trim();
  } catch {
    // no /proc: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

export interface Column<R> {
  title: string;
  align: 'left' | 'right';
  cell: (r: R) => string;
}

/** An aligned table that is also Markdown. */
export function markdownTable<R>(rows: R[], columns: Column<R>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((line) => line[i].length)));
  const pad = (v: string, i: number) => (columns[i].align === 'left' ? v.padEnd(widths[i]) : v.padStart(widths[i]));
  const line = (values: string[]) => `| ${values.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (columns[i].align === 'left' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(columns.map((c) => c.title)), rule, ...cells.map(line)].join('\n');
}

/**
 * Runs a Python baseline script with `config` as JSON on stdin (its stderr passes through) and
 * parses the last line of its stdout as the JSON result.
 */
export function runPythonScript<T>(python: string, script: string, config: object, env?: NodeJS.ProcessEnv): T {
  const run = spawnSync(python, [script], {
    env,
    input: JSON.stringify(config),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new Error(`could not run ${python}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${python} bench/${basename(script)} exited with ${run.status ?? run.signal}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as T;
}

/**
 * A Python baseline driven request by request, so that a benchmark can alternate its own timed
 * repeats with the baseline's: `script --session` gets `config` as its first line on stdin and
 * answers with one JSON line (`hello`), then one JSON line per request line, until stdin ends.
 * Its stderr passes through. One request at a time.
 */
export class PythonSession {
  private readonly lines: AsyncIterator<string>;
  /** How the process ended: its exit code or signal, or the error that kept it from starting. */
  private readonly ended: Promise<string>;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    private readonly what: string,
  ) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    this.ended = new Promise((resolve) => {
      child.on('error', (err) => resolve(`could not run: ${err.message}`));
      child.on('close', (code, signal) => resolve(code === 0 ? '' : `exited with ${code ?? signal}`));
    });
    child.stdin.on('error', () => {}); // a write after the process died: the next read reports it
  }

  static async start<H>(python: string, script: string, config: object): Promise<{ session: PythonSession; hello: H }> {
    const child = spawn(python, [script, '--session'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const session = new PythonSession(child, `${python} bench/${basename(script)}`);
    return { session, hello: await session.request<H>(config) };
  }

  /** Sends one request line and waits for its answer line. */
  async request<T>(message: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error(`${this.what} ${(await this.ended) || 'ended'} before answering`);
    return JSON.parse(next.value) as T;
  }

  /** Ends the session (stdin closed) and waits for the process to exit. */
  async close(): Promise<void> {
    this.child.stdin.end();
    const how = await this.ended;
    if (how) throw new Error(`${this.what} ${how}`);
  }
}

/**
 * Runs `script` (a benchmark's own file) in a fresh `node --import tsx SCRIPT --child` process with
 * `input` as JSON on stdin (its stderr passes through) and parses the last line of its stdout as
 * the JSON result. A fresh process per case gives each case its own peak memory and its own
 * allocator state, whatever ran before it. `what` names the case in errors.
 */
export function runChildProcess<T>(script: string, input: object, what: string): T {
  const run = spawnSync(process.execPath, ['--import', 'tsx', script, '--child'], {
    cwd: packageRoot,
    input: JSON.stringify(input),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new Error(`could not run the case process: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${what}: the case process exited with ${run.status ?? run.signal}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as T;
}

/** The machine facts every benchmark report records. */
export function machineFacts() {
  return {
    cpu: cpuModel(),
    cores: availableParallelism(),
    logicalCpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadavg: loadavg(),
  };
}

/** Runs a benchmark's main(): a bad option (OptionError) prints its message and exits with 2. */
export async function runBenchmark(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (!(err instanceof OptionError)) throw err;
    console.error(err.message); // a bad option: the message says it all
    process.exitCode = 2;
  }
}

/** Removes a benchmark's temporary data folder, unless the user asked to keep it. */
export function removeDataDir(dir: string, keep: boolean): void {
  if (keep) log(`data kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

/** A table number: 3 significant figures, '—' for none. */
export function fmt(x: number | null): string {
  if (x === null) return '—';
  const abs = Math.abs(x);
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** A target's verdict in a table cell. */
export const mark = (ok: boolean | null): string => (ok === null ? '?' : ok ? 'met' : 'NOT met');

/** A raw little-endian file of int32 or float32 values, as the Python baselines write them. */
export function readLittleEndian<T extends Int32Array | Float32Array>(file: string, type: new (buffer: ArrayBuffer) => T): T {
  if (new Uint8Array(new Int32Array([1]).buffer)[0] !== 1) throw new Error('the benchmarks read little-endian files and need a little-endian machine');
  const bytes = readFileSync(file);
  return new type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

/** Busy share of all CPUs over `ms` while this process sleeps; warns when others use the machine. */
export async function busyBeforeRun(ms = 1000): Promise<number> {
  const busy = () => cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0);
  const before = busy();
  const start = performance.now();
  await sleep(ms);
  const share = (busy() - before) / ((performance.now() - start) * cpus().length);
  if (share > 0.1) log(`warning: the machine is ${(share * 100).toFixed(0)}% busy before the run; timings will be low and noisy`);
  return share;
}

/** Writes a benchmark's JSON results (creating the folder) and says where. */
export function writeResults(file: string, report: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

/** One command-line option of a benchmark: its parseArgs type and its line in `--help`. */
export interface BenchOption {
  type: 'string' | 'boolean';
  /** What the line shows, e.g. "--threads N"; an option without it is internal and not listed. */
  flag?: string;
  help?: string;
}

type BenchValues<O extends Record<string, BenchOption>> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };

/** The options most benchmarks share, with their help; a benchmark spreads the ones it takes. */
export const BENCH_OPTIONS = {
  threadsBothSides: {
    type: 'string',
    flag: '--threads N',
    help: 'CPU threads on both sides: native().setNumThreads / torch.set_num_threads (default: all cores)',
  },
  keepData: { type: 'boolean', flag: '--keep-data', help: 'keep the temporary data folder' },
  /** Internal: one case in a fresh process (input on stdin, result on stdout). */
  child: { type: 'boolean' },
} as const satisfies Record<string, BenchOption>;

/** `--out FILE` with the default results file of benchmark `name`. */
export const outOption = (name: string): BenchOption => ({ type: 'string', flag: '--out FILE', help: `results file (default bench/results/${name}.json)` });

/** The default results file of benchmark `name`, or the one given with --out. */
export const resultsFileOf = (name: string, out: string | undefined): string => resolve(out ?? join(packageRoot, 'bench', 'results', `${name}.json`));

/**
 * Parses this process's command line against `options` (plus `-h, --help`). With --help it prints
 * `usage` and one aligned line per listed option, and returns null: the caller returns.
 */
export function parseBenchOptions<O extends Record<string, BenchOption>>(usage: string, options: O): BenchValues<O> | null {
  const config = Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ options: { ...config, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    // an unknown option or a missing value: parseArgs's message names it
    throw new OptionError(`${(err as Error).message} (--help lists the options)`);
  }
  if (!values.help) return values as BenchValues<O>;
  const lines = Object.values(options).filter((o) => o.flag !== undefined).map((o) => `  ${o.flag!.padEnd(14)} ${o.help ?? ''}`);
  console.log([usage, ...lines].join('\n'));
  return null;
}

/** In a `--child` process: its input as JSON on stdin, the result of `run` as one JSON line on stdout. */
export async function answerAsChild<I, R>(run: (input: I) => Promise<R>): Promise<void> {
  const result = await run(JSON.parse(readFileSync(0, 'utf8')) as I);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
