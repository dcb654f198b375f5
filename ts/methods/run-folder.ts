// A run is a folder: the resolved config, then one artefact per step, each written atomically.
// Resume is the same for every method: a step whose record says it finished under this config
// (and whose files are all there) is skipped; anything else runs again from its start. A folder
// that holds a run of another config is never reused silently.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { usageClock } from '../engine/runtime.js';
import { writeTextAtomicSync } from '../util/atomic-file.js';
import { readJsonFile } from '../util/json-file.js';

const RUN_FILE = 'run.json';
const STATE_FILE = 'steps.json';

/** A stable hash of a JSON-able value (keys sorted, so key order does not matter). */
export function configHash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex').slice(0, 16);
}

export interface StepRecord {
  seconds: number;
  /**
   * CPU time of the whole process (every thread, the native compute thread included) during the
   * step, plus the CPU time of the child processes that did its work (StepCost).
   */
  cpuSeconds?: number;
  /**
   * GPU seconds of the step (the device-side span of its native work on a CUDA device, this
   * process's and its children's); 0 when it ran on the CPU. Absent in records made before GPU
   * time was kept.
   */
  gpuSeconds?: number;
  finishedAt: string;
  /** Files (relative to the run folder) the step wrote. */
  files: string[];
}

/**
 * What a step's work may return: CPU and GPU seconds spent outside this process on its behalf (a
 * child process that ran it: a training, a generation), which this process cannot see.
 */
export interface StepCost {
  childCpuSeconds: number;
  childGpuSeconds: number;
}

/** The part of a run folder that code working inside it needs (a child process has no RunFolder). */
export interface RunPaths {
  path(...parts: string[]): string;
}

export class RunFolder implements RunPaths {
  private readonly steps: Record<string, StepRecord>;

  private constructor(
    readonly dir: string,
    readonly method: string,
    readonly hash: string,
  ) {
    const state = join(dir, STATE_FILE);
    this.steps = existsSync(state) ? (readJsonFile(state) as Record<string, StepRecord>) : {};
  }

  /**
   * Opens (or starts) the run of `method` with `config` in `dir`. A folder holding a run with
   * another config, or files that are not a run, is refused unless `overwrite` (which empties it).
   */
  static open(dir: string, method: string, config: unknown, options: { overwrite?: boolean } = {}): RunFolder {
    dir = resolve(dir);
    const hash = configHash(config);
    mkdirSync(dir, { recursive: true });
    const runFile = join(dir, RUN_FILE);
    if (existsSync(runFile)) {
      const previous = readJsonFile(runFile) as { method?: string; configHash?: string };
      if (previous.method === method && previous.configHash === hash) return new RunFolder(dir, method, hash);
      if (!options.overwrite)
        throw new Error(`${dir} holds a ${previous.method ?? 'moalign'} run with another config; choose another folder, or pass overwrite (--overwrite) to replace it`);
    } else if (readdirSync(dir).length > 0 && !options.overwrite) {
      throw new Error(`${dir} is not empty and holds no moalign run; choose another folder, or pass overwrite (--overwrite) to use it`);
    }
    for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
    writeTextAtomicSync(runFile, `${JSON.stringify({ method, configHash: hash, config }, null, 2)}\n`);
    return new RunFolder(dir, method, hash);
  }

  /** A path inside the run folder. */
  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** True when `name` finished under this config and its files are still there. */
  done(name: string): boolean {
    const s = this.steps[name];
    return s !== undefined && s.files.every((f) => existsSync(this.path(f)));
  }

  /** Every finished step's record. */
  get records(): Readonly<Record<string, Readonly<StepRecord>>> {
    return this.steps;
  }

  /** How long each finished step took (wall clock). */
  get timings(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.steps).map(([k, v]) => [k, v.seconds]));
  }

  /** The CPU seconds of each finished step (0 for steps recorded before CPU time was kept). */
  get cpuTimings(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.steps).map(([k, v]) => [k, v.cpuSeconds ?? 0]));
  }

  /** The GPU seconds of each finished step (0 for steps on the CPU or recorded before GPU time was kept). */
  get gpuTimings(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.steps).map(([k, v]) => [k, v.gpuSeconds ?? 0]));
  }

  /**
   * Runs `work` unless the step is done. `work` writes `files` (relative paths) itself, each
   * atomically; the step is recorded only after it returns, so an interruption re-runs it.
   * Returns true when the work ran.
   *
   * Steps may overlap (ParetoHqD's parallel jobs): only this process writes steps.json, each time
   * whole and synchronously, so overlapping steps cannot interleave their records. The CPU time of
   * overlapping steps each include this process's (small, mostly waiting) share of the others'.
   */
  async step(name: string, files: string[], work: () => Promise<StepCost | void> | StepCost | void): Promise<boolean> {
    if (this.done(name)) return false;
    for (const f of files) mkdirSync(dirname(this.path(f)), { recursive: true });
    const started = Date.now();
    const usage = usageClock();
    const cost = await work();
    const missing = files.filter((f) => !existsSync(this.path(f)));
    if (missing.length > 0) throw new Error(`step ${name} did not write ${missing.join(', ')}`);
    const own = usage();
    const cpuSeconds = own.cpuSeconds + (cost?.childCpuSeconds ?? 0);
    const gpuSeconds = own.gpuSeconds + (cost?.childGpuSeconds ?? 0);
    this.steps[name] = { seconds: (Date.now() - started) / 1000, cpuSeconds, gpuSeconds, finishedAt: new Date().toISOString(), files };
    writeTextAtomicSync(this.path(STATE_FILE), `${JSON.stringify(this.steps, null, 2)}\n`);
    return true;
  }
}
