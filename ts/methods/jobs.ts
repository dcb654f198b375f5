// A method's jobs (training runs, ParetoHqD's representatives answering prompts), each a step of
// the run folder: one after another in this process, or a few at a time, each in a child process
// (job-worker.ts). All libtorch work of one Node process goes through one native compute thread,
// so parallel jobs need separate processes; the parent only waits, records the steps (it is
// steps.json's single writer) and combines the progress. A job is data and runs through the same
// function (JOB_RUNNERS) in either place, so its results do not depend on where it ran.
//
// Aborting stops every child at a safe point (a training's checkpoint saved) and waits for them to
// exit; a child that fails or dies fails its step with its label and last stderr lines, and the
// other jobs are stopped the same way, so no process is left behind.
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TrainProgress } from '../engine/trainer.js';
import type { AnswerProgress } from './answer.js';
import { answerForAugmentation, type AugmentJob } from './paretohqd/augment.js';
import type { RunFolder, RunPaths } from './run-folder.js';
import { trainPolicy, type TrainPolicyJob } from './train-policy.js';

/** The kinds of job: what each takes (data, as it crosses to a child process), reports and returns. */
export interface JobKinds {
  /** A training run (train-policy.ts); returns the loss of every step. */
  train: { job: TrainPolicyJob; progress: TrainProgress; result: number[] };
  /** A ParetoHqD representative answering the shared prompts (paretohqd/augment.ts); returns the answers kept. */
  augment: { job: AugmentJob; progress: AnswerProgress; result: number };
}

export type JobKind = keyof JobKinds;
export type JobOf<K extends JobKind> = JobKinds[K]['job'];
export type ProgressOf<K extends JobKind> = JobKinds[K]['progress'];
export type ResultOf<K extends JobKind> = JobKinds[K]['result'];

/** What a running job is given besides its data. */
export interface JobHooks<P> {
  signal?: AbortSignal;
  onProgress?: (progress: P) => void;
}

/** The function that runs each kind of job, inside the run folder `run`. */
const JOB_RUNNERS: { [K in JobKind]: (run: RunPaths, job: JobOf<K>, hooks: JobHooks<ProgressOf<K>>) => Promise<ResultOf<K>> } = {
  train: (run, job, hooks) => trainPolicy(run, { ...job, ...hooks }),
  augment: answerForAugmentation,
};

/** Runs `job` of `kind` in this process (in a worker: the child's own). */
export function runJob<K extends JobKind>(run: RunPaths, kind: K, job: JobOf<K>, hooks: JobHooks<ProgressOf<K>>): Promise<ResultOf<K>> {
  return JOB_RUNNERS[kind](run, job, hooks);
}

/** What the parent sends a worker. */
export type ToWorker = { [K in JobKind]: { type: 'run'; dir: string; kind: K; job: JobOf<K> } }[JobKind] | { type: 'abort' };

/** What a worker sends its parent. */
export type ToParent =
  | { type: 'ready' }
  | { type: 'progress'; progress: unknown }
  | { type: 'done'; result: unknown; cpuSeconds: number; gpuSeconds: number }
  | { type: 'failed'; message: string; aborted: boolean };

/** The worker module next to this one, with this module's own extension: .ts under tsx or vitest, .js from dist/. */
const WORKER = fileURLToPath(new URL(`./job-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

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

export interface ChildJobOptions<P> extends JobHooks<P> {
  /** Names the job in errors ("stage 1 training of ω (0, 1)"). */
  label: string;
  /** libtorch threads of the child (its MOALIGN_NUM_THREADS). */
  threads: number;
}

/**
 * Runs `job` of `kind` (runJob inside the run folder `dir`) in a child process; resolves with its
 * result and the child's CPU seconds. Aborting `signal` asks the child to stop (a training saves
 * its checkpoint) and rejects with the signal's reason once it has exited.
 */
export function runInChild<K extends JobKind>(dir: string, kind: K, job: JobOf<K>, o: ChildJobOptions<ProgressOf<K>>): Promise<{ result: ResultOf<K>; cpuSeconds: number; gpuSeconds: number }> {
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
        send(o.signal?.aborted ? { type: 'abort' } : ({ type: 'run', dir, kind, job } as ToWorker));
      } else if (m.type === 'progress') o.onProgress?.(m.progress as ProgressOf<K>);
      else if (m.type === 'done') done = m;
      else failed = m;
    });
    child.on('error', (err) => (spawnError ??= err));
    child.on('close', (code, signal) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (done) resolve({ result: done.result as ResultOf<K>, cpuSeconds: done.cpuSeconds, gpuSeconds: done.gpuSeconds });
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

/** The progress of several jobs going on at once, as one job's progress. */
export interface Combined<P> {
  /** Jobs finished. */
  readonly finished: number;
  /** Job `job` reported `progress`; returns the combined progress. */
  update(job: number, progress: P): P;
  /** Job `job` finished; returns the combined progress. */
  finish(job: number): P;
}

/** How far several jobs going on at once are, as one job: units done of their total, and the seconds left. */
export interface WorkProgress extends AnswerProgress {
  elapsedSeconds: number;
}

/**
 * The work of several jobs going on at once, as one job's: units (steps, answers) summed over the
 * jobs (a finished job counts whole), and the ETA from the units done since the first report.
 * Combines answering progress as it is.
 */
export class CombinedWork implements Combined<AnswerProgress> {
  private readonly done = new Map<number, number>();
  /** Units each job had done before this process started it (a resumed checkpoint). */
  private readonly before = new Map<number, number>();
  private readonly finishedJobs = new Set<number>();
  private readonly started = performance.now();

  /** `totals[j]`: the units of job j. */
  constructor(private readonly totals: readonly number[]) {}

  get finished(): number {
    return this.finishedJobs.size;
  }

  isFinished(job: number): boolean {
    return this.finishedJobs.has(job);
  }

  /** Job `job` has done `progress.done` units, `before` of them (taken at its first report) before this process started it. */
  update(job: number, progress: { done: number }, before = 0): WorkProgress {
    if (!this.before.has(job)) this.before.set(job, before);
    this.done.set(job, progress.done);
    return this.progress();
  }

  /** Job `job` finished. */
  finish(job: number): WorkProgress {
    this.finishedJobs.add(job);
    return this.progress();
  }

  private progress(): WorkProgress {
    const total = this.totals.reduce((a, b) => a + b, 0);
    const done = this.totals.reduce((s, n, job) => s + (this.finishedJobs.has(job) ? n : (this.done.get(job) ?? 0)), 0);
    const resumed = [...this.before.values()].reduce((a, b) => a + b, 0);
    const elapsedSeconds = (performance.now() - this.started) / 1000;
    const now = done - resumed;
    return { done, total, elapsedSeconds, etaSeconds: now > 0 ? (elapsedSeconds / now) * (total - done) : Number.NaN };
  }
}

/**
 * Progress of several training runs going on at once, as one run's: steps summed over the runs
 * (CombinedWork), tokens/s summed over the running ones, the latest loss, lr and gradient norm.
 */
export class CombinedProgress implements Combined<TrainProgress> {
  private readonly work: CombinedWork;
  private readonly latest = new Map<number, TrainProgress>();
  private last: TrainProgress | undefined;

  /** `steps[r]`: the steps of run r. */
  constructor(steps: readonly number[]) {
    this.work = new CombinedWork(steps);
  }

  get finished(): number {
    return this.work.finished;
  }

  /** Run `run` reported `p`; returns the combined progress. */
  update(run: number, p: TrainProgress): TrainProgress {
    this.latest.set(run, p);
    this.last = p;
    return this.combined(this.work.update(run, { done: p.step }, p.step - 1));
  }

  /** Run `run` finished; returns the combined progress. */
  finish(run: number): TrainProgress {
    return this.combined(this.work.finish(run));
  }

  private combined(w: WorkProgress): TrainProgress {
    const running = [...this.latest].filter(([run]) => !this.work.isFinished(run));
    return {
      step: w.done,
      steps: w.total,
      loss: this.last?.loss ?? Number.NaN,
      lr: this.last?.lr ?? Number.NaN,
      gradNorm: this.last?.gradNorm ?? Number.NaN,
      tokensPerSecond: running.reduce((s, [, p]) => s + p.tokensPerSecond, 0),
      elapsedSeconds: w.elapsedSeconds,
      etaSeconds: w.etaSeconds,
    };
  }
}

/** One job of a batch: the run-folder step that records it, and the job. */
export interface StepJob<K extends JobKind> {
  step: string;
  /** Names the job in a child's errors. */
  label: string;
  /** The files the step writes, relative to the run folder. */
  files: string[];
  job: JobOf<K>;
}

interface StepJobsOptions<K extends JobKind> {
  /** 1: one after another in this process; n > 1: n at a time, each in a child process. */
  jobs: number;
  signal?: AbortSignal;
  /** Job `i` of the batch starts (a job whose step is done is skipped and says nothing). */
  onStart?: (i: number) => void;
  onProgress?: (i: number, progress: ProgressOf<K>) => void;
  /** Job `i` finished and its step is recorded. */
  onFinish?: (i: number) => void;
}

/** runJobs, each job reporting on its own. */
async function runJobSteps<K extends JobKind>(run: RunFolder, kind: K, batch: readonly StepJob<K>[], o: StepJobsOptions<K>): Promise<void> {
  const threads = threadsPerJob(o.jobs);
  const tasks = batch.map(({ step, label, files, job }, i) => async (signal: AbortSignal) => {
    const ran = await run.step(step, files, async () => {
      o.onStart?.(i);
      const hooks = { signal, onProgress: (p: ProgressOf<K>) => o.onProgress?.(i, p) };
      if (o.jobs === 1) {
        await runJob(run, kind, job, hooks);
        return;
      }
      const { cpuSeconds, gpuSeconds } = await runInChild(run.dir, kind, job, { label, threads, ...hooks });
      return { childCpuSeconds: cpuSeconds, childGpuSeconds: gpuSeconds };
    });
    if (ran) o.onFinish?.(i);
  });
  await runConcurrently(tasks, o.jobs, o.signal);
}

interface ParallelJobsOptions<K extends JobKind> {
  /** Children at a time. */
  jobs: number;
  signal?: AbortSignal;
  /** The progress of the jobs not done, as one (CombinedProgress, CombinedWork). */
  combine: (pending: readonly StepJob<K>[]) => Combined<ProgressOf<K>>;
  /** `pending` jobs are about to start (not called when every job is done). */
  onStart?: (pending: number) => void;
  /** The combined progress, `finished` of `of` jobs done; `job` (an index of the batch) reported last. */
  onProgress?: (progress: ProgressOf<K>, state: { job: number; finished: number; of: number }) => void;
}

/**
 * Runs every job of `batch` whose step is not done, `o.jobs` at a time in child processes
 * (runJobSteps), reported as one job: after each report of a job, and when one finishes.
 */
async function runInParallel<K extends JobKind>(run: RunFolder, kind: K, batch: readonly StepJob<K>[], o: ParallelJobsOptions<K>): Promise<void> {
  const pending = batch.flatMap((b, i) => (run.done(b.step) ? [] : [i]));
  if (pending.length === 0) return;
  o.onStart?.(pending.length);
  const combined = o.combine(pending.map((i) => batch[i]));
  const report = (progress: ProgressOf<K>, k: number) => o.onProgress?.(progress, { job: pending[k], finished: combined.finished, of: pending.length });
  await runJobSteps(
    run,
    kind,
    pending.map((i) => batch[i]),
    { jobs: o.jobs, signal: o.signal, onProgress: (k, p) => report(combined.update(k, p), k), onFinish: (k) => report(combined.finish(k), k) },
  );
}

export interface JobsOptions<K extends JobKind> {
  /** 1: one after another in this process; n > 1: n at a time, each in a child process. */
  jobs: number;
  signal?: AbortSignal;
  /** How jobs run one after another report: each its own start (`i`, an index of the batch) and progress. */
  inOrder: Pick<StepJobsOptions<K>, 'onStart' | 'onProgress'>;
  /** How jobs run in parallel report: as one job. */
  inParallel: Pick<ParallelJobsOptions<K>, 'combine' | 'onStart' | 'onProgress'>;
}

/**
 * Runs every job of `batch` whose step is not done, each as a step of `run`: one after another in
 * this process (o.jobs 1), or `o.jobs` at a time, each in a child process with its share of the
 * cores (threadsPerJob), the step's CPU seconds including the child's. Either way a job runs
 * through runJob, so its results are the same.
 */
export function runJobs<K extends JobKind>(run: RunFolder, kind: K, batch: readonly StepJob<K>[], o: JobsOptions<K>): Promise<void> {
  return o.jobs === 1 ? runJobSteps(run, kind, batch, { jobs: 1, signal: o.signal, ...o.inOrder }) : runInParallel(run, kind, batch, { jobs: o.jobs, signal: o.signal, ...o.inParallel });
}
