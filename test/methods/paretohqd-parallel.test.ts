// ParetoHqD with jobs > 1 (each stage's preferences trained, and the representatives' answers
// generated, in child processes, ts/methods/jobs.ts) on the reduced built-in task: the same models
// and answers as the run in order (bit-identical losses and files), every step recorded with its
// child's CPU time, an interrupted run that resumes to the same results, and a failing or killed
// child that fails the run with an error naming its preference, with no process left behind.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elapsedSeconds } from '../../ts/methods/finish.js';
import { ParetoHqD, type ParetoHqdConfigInput, type ParetoHqdEvent } from '../../ts/methods/paretohqd/index.js';
import { CombinedProgress, CombinedWork, runConcurrently, threadsPerJob } from '../../ts/methods/jobs.js';
import { buildSmallTask, TINY_TRAINING } from '../helpers/small-task.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-paretohqd-parallel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const task = join(tmp, 'task');

beforeAll(async () => {
  await buildSmallTask(tmp);
}, 300_000);

// grid:3: three preferences, all of them representatives; no evaluation (the models are compared)
const config: ParetoHqdConfigInput = {
  task,
  preferences: 'grid:3',
  selection: { k1: 12, k2: 6 },
  training: TINY_TRAINING,
  augmentation: { prompts: 20, temperature: 0.9, topP: 0.9, maxNewTokens: 12, seed: 0 },
  evaluation: { enabled: false },
};
const TRAIN_STEPS = ['stage1-train-0', 'stage1-train-1', 'stage1-train-2', 'stage2-train-0', 'stage2-train-1', 'stage2-train-2'];
const OUTS = ['stage1/pref-0', 'stage1/pref-1', 'stage1/pref-2', 'stage2/pref-0', 'stage2/pref-1', 'stage2/pref-2'];

// the representatives (1, 0), (0, 1), (0.5, 0.5) are the grid's ω 2, 0, 1, and answer in that order
const ANSWERS = ['augment/generated-2.jsonl', 'augment/generated-0.jsonl', 'augment/generated-1.jsonl'];
const GENERATE_STEPS = ['augment-generate-2', 'augment-generate-0', 'augment-generate-1'];

const losses = (dir: string) => OUTS.map((out) => readFileSync(join(dir, out, 'losses.json'), 'utf8'));
/** The answers, the generated pool and stage 2's selection (the answers name their model by its path in the run folder). */
const answers = (dir: string) => [...ANSWERS, 'augment/pool.jsonl', 'stage2/selection.json'].map((f) => readFileSync(join(dir, f), 'utf8').replaceAll(dir, '<run>'));

/** A copy of the finished run `from` as a run stopped after stage 1: the augmentation and stage 2 not done. */
function afterStage1(from: string, dir: string): string {
  cpSync(from, dir, { recursive: true });
  for (const f of ['augment', 'stage2']) rmSync(join(dir, f), { recursive: true });
  const stage1 = Object.entries(steps(dir)).filter(([name]) => name.startsWith('stage1-'));
  writeFileSync(join(dir, 'steps.json'), JSON.stringify(Object.fromEntries(stage1)));
  return dir;
}
const steps = (dir: string) => JSON.parse(readFileSync(join(dir, 'steps.json'), 'utf8')) as Record<string, { seconds: number; cpuSeconds: number; gpuSeconds: number; finishedAt: string }>;

/** The training workers this process still has. */
function workers(): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    // ps exits 1 when there is no such process
  }
  return out
    .split('\n')
    .filter((l) => l.includes('job-worker'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('ParetoHqD with jobs: 2', () => {
  const seq = join(tmp, 'seq');
  const par = join(tmp, 'par');
  const events: ParetoHqdEvent[] = [];
  beforeAll(async () => {
    await new ParetoHqD(config, seq).runAll();
    await new ParetoHqD({ ...config, jobs: 2 }, par).runAll({ onProgress: (e) => events.push(e) });
  }, 300_000);

  it('trains the same models as the run in order: bit-identical losses for every preference, every step recorded', () => {
    expect(losses(par)).toEqual(losses(seq));
    const record = steps(par);
    expect(Object.keys(record).sort()).toEqual(Object.keys(steps(seq)).sort());
    for (const s of TRAIN_STEPS) expect(record[s].seconds, s).toBeGreaterThan(0);
    // a step's CPU time is its child's: far more than the parent's share of a mostly waiting process
    expect(Math.min(...TRAIN_STEPS.map((s) => record[s].cpuSeconds))).toBeGreaterThan(0.3);
  });

  it("generates the same answers as the run in order, hence the same pool and stage-2 selection; each step's CPU time is its child's", () => {
    expect(answers(par)).toEqual(answers(seq));
    expect(readFileSync(join(par, ANSWERS[0]), 'utf8').split('\n').length).toBeGreaterThan(10);
    const record = steps(par);
    for (const s of GENERATE_STEPS) expect(record[s].seconds, s).toBeGreaterThan(0);
    expect(Math.min(...GENERATE_STEPS.map((s) => record[s].cpuSeconds))).toBeGreaterThan(0.3);
    // the run's training time (policies.json, the evaluation record's seconds.train and trainCpu)
    // counts the children's CPU, and the wall clock of generations that ran at once only once
    const policies = JSON.parse(readFileSync(join(par, 'policies.json'), 'utf8'));
    const cpu = Object.values(record).reduce((s, r) => s + r.cpuSeconds, 0);
    expect(policies.trainCpuSeconds).toBeCloseTo(cpu, 6);
    expect(policies.trainCpuSeconds).toBeGreaterThan(0.3 * (TRAIN_STEPS.length + GENERATE_STEPS.length));
    expect(policies.trainSeconds).toBeCloseTo(elapsedSeconds(Object.values(record)), 6);
    const generations = GENERATE_STEPS.map((s) => record[s]);
    expect(elapsedSeconds(generations)).toBeLessThan(generations.reduce((s, r) => s + r.seconds, 0));
    // on the CPU, where this run's models live, no step and no child spent GPU time
    expect(Object.values(record).map((r) => r.gpuSeconds)).toEqual(Object.values(record).map(() => 0));
    expect(policies.trainGpuSeconds).toBe(0);
  });

  it('reports the augmentation once: a step event, then combined generate events with an ETA that end at every answer', () => {
    const stepEvents = events.flatMap((e) => (e.kind === 'step' ? [e.step] : []));
    expect(stepEvents.filter((s) => s.startsWith('augment-generate'))).toEqual(['augment-generate']);
    const generate = events.flatMap((e) => (e.kind === 'generate' ? [e] : []));
    expect(generate.every((e) => e.jobs === 2 && e.of === 3 && e.name === 'ω (2 jobs)' && e.total === 60)).toBe(true);
    const last = generate.at(-1)!;
    expect([last.index, last.done, last.etaSeconds]).toEqual([3, 60, 0]);
    expect(generate.every((e, k) => k === 0 || e.done >= generate[k - 1].done)).toBe(true);
    expect(generate.every((e) => e.etaSeconds >= 0)).toBe(true);
  });

  it('reports each stage once: a step event, then combined train events that end at every step of the stage', () => {
    const stepEvents = events.flatMap((e) => (e.kind === 'step' ? [e.step] : []));
    expect(stepEvents.filter((s) => s.includes('train'))).toEqual(['stage1-train', 'stage2-train']);
    for (const stage of [1, 2]) {
      const train = events.flatMap((e) => (e.kind === 'train' && e.stage === stage ? [e] : []));
      expect(train.every((e) => e.jobs === 2 && e.of === 3 && e.name === 'ω (2 jobs)')).toBe(true);
      const last = train.at(-1)!;
      expect([last.index, last.progress.step, last.progress.steps]).toEqual([3, 18, 18]);
      // steps never go back
      expect(train.every((e, k) => k === 0 || e.progress.step >= train[k - 1].progress.step)).toBe(true);
    }
  });

  it('is not part of the config hash: a run continues under another number of jobs', () => {
    expect(() => new ParetoHqD({ ...config, jobs: 1 }, par)).not.toThrow();
    expect(JSON.parse(readFileSync(join(par, 'run.json'), 'utf8')).config.jobs).toBeUndefined();
  });

  it('aborted mid-stage stops every child (checkpoints kept); the re-run finishes with the losses of the uninterrupted run', async () => {
    const dir = join(tmp, 'aborted');
    const abort = new AbortController();
    await expect(
      new ParetoHqD({ ...config, jobs: 2 }, dir).runAll({
        signal: abort.signal,
        onProgress: (e) => e.kind === 'train' && e.stage === 2 && abort.abort(),
      }),
    ).rejects.toThrow(/abort/i);
    expect(workers()).toEqual([]);
    expect(readdirSync(join(dir, 'stage2')).some((f) => f.endsWith('.checkpoint'))).toBe(true);
    const before = steps(dir);
    expect(before['stage2-train-0']).toBeUndefined();
    await new ParetoHqD({ ...config, jobs: 2 }, dir).runAll();
    const after = steps(dir);
    expect(after['stage1-train-0']).toEqual(before['stage1-train-0']);
    expect(losses(dir)).toEqual(losses(seq));
    expect(readdirSync(join(dir, 'stage2')).filter((f) => f.endsWith('.checkpoint'))).toEqual([]);
  }, 300_000);

  it.each([1, 2])('jobs %i: a run aborted mid-augmentation keeps the finished answers, and its re-run skips them and answers as the run in order', async (jobs) => {
    const dir = afterStage1(par, join(tmp, `aborted-augment-${jobs}`));
    const abort = new AbortController();
    await expect(
      new ParetoHqD({ ...config, jobs }, dir).runAll({
        signal: abort.signal,
        // in order: when the second representative starts; in parallel: when one has finished
        onProgress: (e) => ((jobs === 1 ? e.kind === 'step' && e.step === GENERATE_STEPS[1] : e.kind === 'generate' && e.index! >= 1) ? abort.abort() : undefined),
      }),
    ).rejects.toThrow(/abort/i);
    expect(workers()).toEqual([]);
    const before = steps(dir);
    const finished = GENERATE_STEPS.filter((s) => before[s] !== undefined);
    expect(finished.length).toBeGreaterThan(0);
    expect(finished.length).toBeLessThan(3);
    if (jobs === 1) expect(finished).toEqual([GENERATE_STEPS[0]]);
    // the re-run, up to stage 2's training (whose data are then those of the run in order)
    const started: string[] = [];
    const stop = new AbortController();
    await expect(
      new ParetoHqD({ ...config, jobs }, dir).runAll({
        signal: stop.signal,
        onProgress: (e) => e.kind === 'step' && (started.push(e.step), e.step.startsWith('stage2-train') && stop.abort()),
      }),
    ).rejects.toThrow(/abort/i);
    const after = steps(dir);
    for (const s of finished) expect(after[s], s).toEqual(before[s]);
    expect(GENERATE_STEPS.every((s) => after[s] !== undefined)).toBe(true);
    if (jobs === 1) expect(started.filter((s) => s.startsWith('augment-generate'))).toEqual(GENERATE_STEPS.slice(1));
    expect(answers(dir)).toEqual(answers(seq));
  }, 120_000);

  it('a child whose generation fails (a corrupt representative) fails the run with an error naming the representative, and stops the others', async () => {
    const dir = afterStage1(par, join(tmp, 'corrupt-augment'));
    writeFileSync(join(dir, 'stage1/pref-1/adapter_model.safetensors'), 'not a safetensors file');
    await expect(new ParetoHqD({ ...config, jobs: 2 }, dir).runAll()).rejects.toThrow(/generation of representative ω = \(0\.5, 0\.5\) \(augment\/generated-1\.jsonl\) failed: /);
    expect(workers()).toEqual([]);
    expect(steps(dir)['augment-generate-1']).toBeUndefined();
  }, 120_000);

  it('a child that fails (a corrupt stage-1 adapter) fails the run with an error naming its preference, and stops the others', async () => {
    const dir = join(tmp, 'corrupt');
    cpSync(par, dir, { recursive: true });
    for (const i of [0, 1]) rmSync(join(dir, `stage2/pref-${i}/losses.json`));
    writeFileSync(join(dir, 'stage1/pref-1/adapter_model.safetensors'), 'not a safetensors file');
    await expect(new ParetoHqD({ ...config, jobs: 2 }, dir).runAll()).rejects.toThrow(/stage 2 training of ω = \(0\.5, 0\.5\) \(stage2\/pref-1\) failed: /);
    expect(workers()).toEqual([]);
  }, 120_000);

  it('a child killed mid-training fails the run with its preference and the signal, and stops the others', async () => {
    const dir = join(tmp, 'killed');
    let killed: number | undefined;
    await expect(
      new ParetoHqD({ ...config, training: { ...TINY_TRAINING, steps: 400 }, jobs: 2 }, dir).runAll({
        onProgress: (e) => {
          if (e.kind !== 'train' || killed !== undefined) return;
          killed = workers()[0];
          process.kill(killed, 'SIGKILL');
        },
      }),
    ).rejects.toThrow(/stage 1 training of ω = .* failed: its worker process \(pid \d+\) was killed by SIGKILL/);
    expect(workers()).toEqual([]);
    expect(existsSync(join(dir, 'stage2'))).toBe(false);
  }, 120_000);
});

describe('the parallel jobs machinery', () => {
  it('runs at most `limit` tasks at a time, in order, and returns their results in order', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5 * (4 - i)));
      running--;
      return i * 10;
    };
    expect(await runConcurrently([0, 1, 2, 3].map(task), 2)).toEqual([0, 10, 20, 30]);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('stops the running tasks and starts no more after the first failure, and rejects with it once all have settled', async () => {
    const settled: string[] = [];
    const waitForAbort = (name: string) => (signal: AbortSignal) =>
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => setTimeout(() => (settled.push(name), reject(signal.reason)), 10)));
    const fail = async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('job 1 broke');
    };
    const never = async () => {
      settled.push('never');
    };
    await expect(runConcurrently([waitForAbort('a'), fail, never], 2)).rejects.toThrow('job 1 broke');
    expect(settled).toEqual(['a']);
  });

  it("rejects with the caller's abort reason once every task has stopped", async () => {
    const abort = new AbortController();
    const stopped: number[] = [];
    const task = (i: number) => (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => (stopped.push(i), reject(new Error('cancelled')))));
    const run = runConcurrently([0, 1, 2].map(task), 2, abort.signal);
    abort.abort(new Error('user stop'));
    await expect(run).rejects.toThrow('user stop');
    expect(stopped).toEqual([0, 1]);
  });

  it('combines the progress of runs going on at once', () => {
    const p = (step: number, tokensPerSecond: number, loss: number) => ({ step, steps: 10, loss, lr: 0.1, gradNorm: 1, tokensPerSecond, elapsedSeconds: 0, etaSeconds: 0 });
    const c = new CombinedProgress([10, 10, 10]);
    c.update(0, p(3, 100, 2));
    const both = c.update(1, p(5, 50, 1.5)); // run 1 resumed from step 4
    expect([both.step, both.steps, both.tokensPerSecond, both.loss]).toEqual([8, 30, 150, 1.5]);
    const one = c.finish(0);
    expect([one.step, one.tokensPerSecond, c.finished]).toEqual([15, 50, 1]);
  });

  it('combines the work of jobs going on at once: units summed, a finished job whole, the ETA from the pace since the first report', async () => {
    const w = new CombinedWork([64, 64, 10]);
    w.update(0, { done: 32 });
    await new Promise((r) => setTimeout(r, 20));
    const both = w.update(1, { done: 16 });
    expect([both.done, both.total]).toEqual([48, 138]);
    expect(both.etaSeconds).toBeCloseTo((both.elapsedSeconds / 48) * 90, 9);
    const one = w.finish(0);
    expect([one.done, w.finished, w.isFinished(0), w.isFinished(1)]).toEqual([80, 1, true, false]);
    // units done before this process started a job (a resumed checkpoint) do not count for the pace
    const resumed = new CombinedWork([10]).update(0, { done: 6 }, 5);
    expect(resumed.etaSeconds).toBeCloseTo(resumed.elapsedSeconds * 4, 9);
  });

  it('gives each child its share of the cores unless MOALIGN_NUM_THREADS is set', () => {
    expect(threadsPerJob(2, {}, 16)).toBe(8);
    expect(threadsPerJob(3, {}, 2)).toBe(1);
    expect(threadsPerJob(2, { MOALIGN_NUM_THREADS: '3' }, 16)).toBe(3);
  });
});
