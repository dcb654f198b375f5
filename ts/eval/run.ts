// Evaluating a run folder (what `moalign eval` does): its policies.json, the test prompts (by
// default its task's), a scorer per objective, then evaluatePolicies, and the record and the
// generations written into `<run>/eval/`. A re-run with equal settings is skipped.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readPrompts } from '../data/dataset.js';
import { builtinScorers } from '../data/scorers/builtin.js';
import { type ObjectiveSpec, parseObjectiveSpecs, resolveScorers } from '../data/scorers/registry.js';
import type { Scorer } from '../data/scorers/scorer.js';
import type { ModelLoadOptions } from '../engine/causal-lm.js';
import { DEFAULT_HV_MARGIN } from '../moo/front-metrics.js';
import { readTaskManifest, TASK_FILES } from '../task/build.js';
import { type CollapseOptions, collapseOptions } from './collapse.js';
import { type EvalProgress, evaluatePolicies } from './evaluate.js';
import { loadPolicies, readPoliciesFile, type RunPolicies } from './policies.js';
import { buildEvalRecord, EVAL_FILES, type EvalRecord, type EvalSettings, readEvalRecord, sameSettings, writeEvalFiles } from './record.js';

/** Tokens per response when neither the options nor a built-in task say (RiC's evaluation). */
export const DEFAULT_EVAL_MAX_NEW_TOKENS = 128;

export interface EvaluateRunOptions {
  /** Test prompts (JSONL or Parquet PromptRecords). Default: the task folder's prompts-test.jsonl. */
  prompts?: string;
  /** Evaluate on the first `limit` prompts only. Default all. */
  limit?: number;
  /** Default: the built-in task's pool setting when the run names one, else 128. */
  maxNewTokens?: number;
  /** Default 1.0. */
  temperature?: number;
  /** Default 0.9. */
  topP?: number;
  /** Default 0. */
  seed?: number;
  /** Prompts per generate call. Default 32. */
  batchSize?: number;
  /** Default 'first-line' for a built-in task (as its pool was cleaned), else 'trim'. */
  clean?: 'trim' | 'first-line';
  collapse?: CollapseOptions;
  /** δ of the run's own normalisation. Default 0.1. */
  hvMargin?: number;
  /** Scorers for objectives that are not built-in, as NAME=rm:DIR or NAME=fn:FILE (relative to
   *  the current folder); they override policies.json's "scorers". */
  scorers?: string[];
  /** Model loading for the policies and reward models. */
  device?: string;
  dtype?: ModelLoadOptions['dtype'];
  /** Evaluate even when a record with equal settings exists. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: EvalProgress) => void;
}

export interface EvaluateRunResult {
  record: EvalRecord;
  /** True when an existing record with equal settings was kept. */
  skipped: boolean;
  files: { record: string; generations: string };
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Evaluates the run in `runDir` and writes `eval/record.json` and `eval/generations.jsonl`. */
export async function evaluateRun(runDir: string, options: EvaluateRunOptions = {}): Promise<EvaluateRunResult> {
  const run = readPoliciesFile(runDir);
  const policies = loadPolicies(run, { device: options.device, dtype: options.dtype });
  const files = { record: join(run.runDir, EVAL_FILES.record), generations: join(run.runDir, EVAL_FILES.generations) };
  const builtTask = run.taskDir !== undefined && existsSync(join(run.taskDir, TASK_FILES.manifest)) ? readTaskManifest(run.taskDir) : undefined;

  const promptsFile = resolve(options.prompts ?? testPromptsOf(run));
  if (!existsSync(promptsFile)) throw new Error(`${promptsFile}: the test prompts file does not exist`);
  if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 1)) throw new RangeError(`limit must be a positive integer, got ${options.limit}`);
  const scorers = await runScorers(run, options);
  try {
    const settings: EvalSettings = {
      maxNewTokens: options.maxNewTokens ?? builtTask?.settings.pool.maxNewTokens ?? DEFAULT_EVAL_MAX_NEW_TOKENS,
      temperature: options.temperature ?? 1.0,
      topP: options.topP ?? 0.9,
      seed: options.seed ?? 0,
      batchSize: options.batchSize ?? 32,
      clean: options.clean ?? (builtTask ? 'first-line' : 'trim'),
      collapse: collapseOptions(options.collapse),
      hvMargin: options.hvMargin ?? DEFAULT_HV_MARGIN,
      prompts: { sha256: sha256(readFileSync(promptsFile)), limit: options.limit ?? null },
      policies: { sha256: sha256(run.text) },
      scorers: scorers.map((s) => s.id),
    };
    const previous = options.force ? undefined : readEvalRecord(run.runDir);
    if (previous && sameSettings(previous.settings, settings)) return { record: previous, skipped: true, files };

    const { prompts: all } = await readPrompts(promptsFile);
    const prompts = options.limit === undefined ? all : all.slice(0, options.limit);
    const result = await evaluatePolicies(policies, prompts, scorers, {
      maxNewTokens: settings.maxNewTokens,
      temperature: settings.temperature,
      topP: settings.topP,
      seed: settings.seed,
      batchSize: settings.batchSize,
      clean: settings.clean as 'trim' | 'first-line',
      collapse: settings.collapse,
      metrics: { hvMargin: settings.hvMargin },
      signal: options.signal,
      onProgress: options.onProgress,
    });
    const record = buildEvalRecord(result, { method: run.spec.method, task: run.taskDir, trainSeconds: run.spec.trainSeconds, trainCpuSeconds: run.spec.trainCpuSeconds, trainGpuSeconds: run.spec.trainGpuSeconds, promptsFile, settings });
    await writeEvalFiles(run.runDir, record, result.generations);
    return { record, skipped: false, files };
  } finally {
    for (const s of scorers) s.dispose?.();
  }
}

/** The task's test prompts, or an error saying how to name some. */
function testPromptsOf(run: RunPolicies): string {
  if (run.taskDir === undefined) throw new Error(`${run.file} names no "task", so there are no default test prompts; pass the prompts file (--prompts FILE)`);
  return join(run.taskDir, TASK_FILES.testPrompts);
}

/**
 * A scorer per objective, in the objectives' order: the options' NAME=SPEC first, then
 * policies.json's "scorers" (paths relative to the run folder), then the built-in of that name.
 */
async function runScorers(run: RunPolicies, options: EvaluateRunOptions): Promise<Scorer[]> {
  const given = new Map<string, ObjectiveSpec>();
  const absolute = (spec: ObjectiveSpec, cwd: string): ObjectiveSpec =>
    spec.kind === 'rm' ? { ...spec, dir: resolve(cwd, spec.dir) } : spec.kind === 'fn' ? { ...spec, file: resolve(cwd, spec.file) } : spec;
  for (const [name, source] of Object.entries(run.spec.scorers ?? {})) {
    let spec: ObjectiveSpec;
    try {
      [spec] = parseObjectiveSpecs([`${name}=${source}`]);
    } catch (err) {
      throw new Error(`${run.file}: field "scorers.${name}": ${(err as Error).message}`);
    }
    given.set(name, absolute(spec, run.runDir));
  }
  if (options.scorers && options.scorers.length > 0) for (const spec of parseObjectiveSpecs(options.scorers)) given.set(spec.name, absolute(spec, process.cwd()));
  const specs = run.spec.objectives.map((name): ObjectiveSpec => {
    const spec = given.get(name);
    if (spec) return spec;
    if (Object.hasOwn(builtinScorers, name)) return { kind: 'builtin', name };
    throw new Error(
      `${run.file}: objective "${name}" is not a built-in scorer (${Object.keys(builtinScorers).join(', ')}); ` +
        `name its scorer in the file's "scorers" ({"${name}": "rm:DIR"} or {"${name}": "fn:FILE.mjs"}) or pass --scorer ${name}=rm:DIR`,
    );
  });
  const unused = [...given.keys()].filter((name) => !run.spec.objectives.includes(name));
  if (unused.length > 0) throw new Error(`scorers given for ${unused.join(', ')}, which ${run.file} does not list among its objectives (${run.spec.objectives.join(', ')})`);
  return resolveScorers(specs, { device: options.device, dtype: options.dtype });
}
