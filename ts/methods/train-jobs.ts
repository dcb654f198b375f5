// Training runs as parallel jobs: each trainPolicy job in a child process (train-worker.ts), a few
// at a time, each a step of the run folder. All libtorch work of one Node process goes through
// one native compute thread, so parallel trainings need separate processes; the parent only
// waits, records the steps (it is steps.json's single writer) and combines the progress.
//
// Aborting stops every child at a safe point (its checkpoint saved) and waits for them to exit; a
// child that fails or dies fails its step with its label and last stderr lines, and the other
// jobs are stopped the same way, so no process is left behind.
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TrainProgress } from '../engine/trainer.js';
import type { RunFolder } from './run-folder.js';
import { trainedMarker, type TrainPolicyJob } from './train-policy.js';

/** What the parent sends a worker. */
export type ToWorker = { type: 'train'; dir: string; job: TrainPolicyJob } | { type: 'abort' };

/** What a worker sends its parent. */
export type ToParent =
  | { type: 'ready' }
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'done'; losses: number[]; cpuSeconds: number }
  | { type: 'failed'; message: string; aborted: boolean };

/** The worker module next to this one, with this module's own extension: .ts under tsx or vitest, .js from dist/. */
const WORKER = fileURLToPath(new URL(`./train-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Lines of a child's stderr kept for the error of a child that dies. */
const STDERR_LINES = 12;

/**
 * The node options of a worker: this process's (so tsx's loader comes along under tsx), without
 * a debugger port the children would fight over, plus tsx's loader when the worker is TypeScript
 * and no loader came along (vitest transforms its files itself).
 */
function workerExecArgv(): string[] {
  const argv = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  if (WORKER.endsWith('.ts') && !argv.some((a) => a.includes('tsx'))) argv.push('--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
  return argv;
}

/** libtorch threads of each of `jobs` children: MOALIGN_NUM_THREADS when set, else the cores shared out (at least 1). */
export function threadsPerJob(jobs: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const set = env.MOALIGN_NUM_THREADS;
  return set !== undefined && set !== '' ? Number(set) : Math.max(1, Math.floor(cores / jobs));
}

export interface ChildTrainOptions {
  /** Names the job in errors ("stage 1 training of ω (0, 1)"). */
  label: string;
  /** libtorch threads of the child (its MOALIGN_NUM_THREADS). */
  threads: number;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
}

/**
 * Runs `trainPolicy(run folder dir, job)` in a child process; resolves with its losses and the
 * child's CPU seconds. Aborting `signal` asks the child to stop (its checkpoint saved) and rejects
 * with the signal's reason once it has exited.
 */
export function trainInChild(dir: string, job: TrainPolicyJob, o: ChildTrainOptions): Promise<{ losses: number[]; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(o.signal.reason);
    const child = fork(WORKER, [], {
      execArgv: workerExecArgv(),
      env: { ...process.env, MOALIGN_NUM_THREADS: String(o.threads) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const stderr = new StderrTail(STDERR_LINES);
    // the child's warnings show as an in-process run's would, and are kept for a crash's error
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderr.push(chunk.toString());
    });
    let ready = false;
    let done: Extract<ToParent, { type: 'done' }> | undefined;
    let failed: Extract<ToParent, { type: 'failed' }> | undefined;
    let spawnError: Error | undefined;
    const send = (message: ToWorker) => child.connected && child.send(message, () => {}); // a child gone already says so on 'close'
    // before 'ready' the child may not listen yet: the abort goes out when it is ready
    const onAbort = () => ready && send({ type: 'abort' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: ToParent) => {
      if (m.type === 'ready') {
        ready = true;
        send(o.signal?.aborted ? { type: 'abort' } : { type: 'train', dir, job });
      } else if (m.type === 'progress') o.onProgress?.(m.progress);
      else if (m.type === 'done') done = m;
      else failed = m;
    });
    child.on('error', (err) => (spawnError ??= err));
    child.on('close', (code, signal) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (done) resolve({ losses: done.losses, cpuSeconds: done.cpuSeconds });
      else if (o.signal?.aborted) reject(o.signal.reason);
      else if (failed) reject(new Error(`${o.label} failed: ${failed.message}`));
      else reject(new Error(`${o.label} failed: its worker process ${describeExit(child, code, signal, spawnError)}${stderr.describe()}`));
    });
  });
}

function describeExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, spawnError: Error | undefined): string {
  if (child.pid === undefined) return `could not start (${spawnError?.message ?? 'unknown error'})`;
  return `(pid ${child.pid}) ${signal !== null ? `was killed by ${signal}` : `exited with code ${code}`} without a result`;
}

/** The last lines of a stream. */
class StderrTail {
  private text = '';
  constructor(private readonly lines: number) {}

  push(chunk: string): void {
    this.text = (this.text + chunk).split('\n').slice(-this.lines - 1).join('\n');
  }

  describe(): string {
    const t = this.text.trimEnd();
    return t === '' ? ' (nothing on stderr)' : `; its last stderr lines:\n${t}`;
  }
}

/**
 * Runs `tasks` at most `limit` at a time, in order. The first failure stops the rest: no new task
 * starts and the running ones see their signal abort. Settles only when every started task has;
 * rejects with the first failure, or with `signal`'s reason when the caller aborted.
 */
export async function runConcurrently<T>(tasks: ((signal: AbortSignal) => Promise<T>)[], limit: number, signal?: AbortSignal): Promise<T[]> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const results: T[] = new Array(tasks.length);
  let failure: { error: unknown } | undefined;
  let next = 0;
  const lane = async () => {
    while (next < tasks.length && !stop.signal.aborted) {
      const i = next++;
      try {
        results[i] = await tasks[i](stop.signal);
      } catch (error) {
        // failures after the stop are the stop's own (aborted jobs): the first one is the cause
        if (!stop.signal.aborted) {
          failure = { error };
          stop.abort(new Error('stopped: another job failed'));
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
  signal?.throwIfAborted();
  return results;
}

/**
 * Progress of several training runs going on at once, as one run's: steps summed over the runs
 * (a finished run counts whole), tokens/s summed over the running ones, the latest loss, lr and
 * gradient norm, and the ETA from the steps done since the first report.
 */
export class CombinedProgress {
  private readonly latest = new Map<number, TrainProgress>();
  private readonly finishedRuns = new Set<number>();
  /** Steps each run had done before this process started it (a resumed checkpoint). */
  private readonly before = new Map<number, number>();
  private readonly started = performance.now();
  private last: TrainProgress | undefined;

  constructor(private readonly steps: readonly number[]) {}

  get finished(): number {
    return this.finishedRuns.size;
  }

  /** Run `run` reported `p`; returns the combined progress. */
  update(run: number, p: TrainProgress): TrainProgress {
    if (!this.before.has(run)) this.before.set(run, p.step - 1);
    this.latest.set(run, p);
    this.last = p;
    return this.combined();
  }

  /** Run `run` finished; returns the combined progress. */
  finish(run: number): TrainProgress {
    this.finishedRuns.add(run);
    return this.combined();
  }

  private combined(): TrainProgress {
    const total = this.steps.reduce((a, b) => a + b, 0);
    const step = this.steps.reduce((s, n, run) => s + (this.finishedRuns.has(run) ? n : (this.latest.get(run)?.step ?? 0)), 0);
    const resumed = [...this.before.values()].reduce((a, b) => a + b, 0);
    const running = [...this.latest].filter(([run]) => !this.finishedRuns.has(run));
    const elapsedSeconds = (performance.now() - this.started) / 1000;
    const now = step - resumed;
    return {
      step,
      steps: total,
      loss: this.last?.loss ?? Number.NaN,
      lr: this.last?.lr ?? Number.NaN,
      gradNorm: this.last?.gradNorm ?? Number.NaN,
      tokensPerSecond: running.reduce((s, [, p]) => s + p.tokensPerSecond, 0),
      elapsedSeconds,
      etaSeconds: now > 0 ? (elapsedSeconds / now) * (total - step) : Number.NaN,
    };
  }
}

/** One training run of a parallel batch: the run-folder step that records it, and the job. */
export interface PolicyJob {
  step: string;
  /** Names the job in errors. */
  label: string;
  job: TrainPolicyJob;
}

export interface ParallelTrainOptions {
  /** Children at a time. */
  jobs: number;
  signal?: AbortSignal;
  /** The combined progress of the batch (over the jobs not done before), `finished` of `of` done; `job` reported last. */
  onProgress?: (progress: TrainProgress, state: { finished: number; of: number; job: number }) => void;
}

/**
 * Trains every job whose step is not done, `o.jobs` at a time, each in a child process and as a
 * step of `run` (its CPU seconds include the child's). Returns the indices of the jobs it ran.
 */
export async function trainInParallel(run: RunFolder, batch: readonly PolicyJob[], o: ParallelTrainOptions): Promise<number[]> {
  const pending = batch.flatMap((job, i) => (run.done(job.step) ? [] : [i]));
  const progress = new CombinedProgress(pending.map((i) => batch[i].job.training.steps));
  const report = (p: TrainProgress, job: number) => o.onProgress?.(p, { finished: progress.finished, of: pending.length, job });
  const threads = threadsPerJob(o.jobs);
  const tasks = pending.map((i, k) => async (signal: AbortSignal) => {
    const { step, label, job } = batch[i];
    await run.step(step, [trainedMarker(job.out)], async () => {
      const { cpuSeconds } = await trainInChild(run.dir, job, { label, threads, signal, onProgress: (p) => report(progress.update(k, p), i) });
      return { childCpuSeconds: cpuSeconds };
    });
    report(progress.finish(k), i);
  });
  await runConcurrently(tasks, o.jobs, o.signal);
  return pending;
}
