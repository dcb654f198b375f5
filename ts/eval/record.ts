// The files an evaluation leaves in a run folder: `eval/record.json` (the metric record of
// metrics.md §7, plus collapse, timing and the settings that produced it) and
// `eval/generations.jsonl` (every response with its rewards, for reports). The record is written
// last, so its presence means the evaluation finished.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { checkRecord, readJsonlRecords, writeJsonlAtomic } from '../data/jsonl.js';
import { writeTextAtomic } from '../util/atomic-file.js';
import type { EvalGeneration, EvalResult } from './evaluate.js';
import { readJsonFile } from '../util/json-file.js';

export const EVAL_FILES = { dir: 'eval', record: join('eval', 'record.json'), generations: join('eval', 'generations.jsonl') } as const;

const finite = z.number();
const vector = z.array(finite);
const collapseRule = z.enum(['short', 'ngram', 'sentence']);
const collapseCount = z.object({
  /** CR% = 100 · collapsed / responses (the one value here in percent, as its name says). */
  percent: finite,
  collapsed: z.number().int().min(0),
  responses: z.number().int().min(0),
  byRule: z.object({ short: z.number().int(), ngram: z.number().int(), sentence: z.number().int() }),
});

/** Everything that decides an evaluation's numbers: a re-run with equal settings is skipped. */
export const evalSettings = z.object({
  maxNewTokens: z.number().int().positive(),
  temperature: finite,
  topP: finite,
  seed: z.number().int(),
  batchSize: z.number().int().positive(),
  clean: z.string(),
  collapse: z.object({ minWords: z.number().int(), ngramRatio: finite, sentenceRepeats: z.number().int() }),
  hvMargin: finite,
  /** The test prompts: the file's sha256 and the --limit applied (null for all). */
  prompts: z.object({ sha256: z.string(), limit: z.number().int().positive().nullable() }),
  /** sha256 of policies.json: a retrained run is evaluated again. */
  policies: z.object({ sha256: z.string() }),
  /** Scorer ids, in the objectives' order (a changed scorer changes its id). */
  scorers: z.array(z.string()),
});
export type EvalSettings = z.infer<typeof evalSettings>;

/** `eval/record.json`. The fields from `objectives` to `points` are the §7 record, unchanged. */
export const evalRecord = z.object({
  format: z.literal(1),
  method: z.string().min(1),
  objectives: z.array(z.string().min(1)).min(1),
  space: z.enum(['normalized', 'raw']),
  lo: vector.nullable(),
  hi: vector.nullable(),
  hvMargin: finite.nullable(),
  ref: vector,
  hypervolume: finite,
  hvDropped: z.number().int().min(0),
  innerProduct: finite,
  sparsity: z.object({ value: finite, variant: z.enum(['pgmorl', 'pairwise']), nNondominated: z.number().int().min(0) }),
  spacing: z.object({ value: finite, variant: z.enum(['libmoon', 'schott']) }),
  points: z.array(z.object({ preference: vector, mean: vector })).min(1),
  /** Per preference, in the order of `points`. */
  perPreference: z.array(z.object({ preference: vector, collapse: collapseCount, generationSeconds: finite })),
  /** Pooled over every preference and prompt. */
  collapse: collapseCount.extend({ options: evalSettings.shape.collapse }),
  seconds: z.object({
    generation: finite,
    scoring: finite,
    total: finite,
    train: finite.nullable(),
    cpu: finite.optional(),
    trainCpu: finite.nullable().optional(),
    /** GPU seconds of the evaluation and of the training (0: on the CPU; absent in older records). */
    gpu: finite.optional(),
    trainGpu: finite.nullable().optional(),
  }),
  /** The task folder (absolute) when the run names one. */
  task: z.string().nullable(),
  prompts: z.object({ file: z.string(), count: z.number().int().positive() }),
  settings: evalSettings,
  createdAt: z.string(),
});
export type EvalRecord = z.infer<typeof evalRecord>;

/** One line of `eval/generations.jsonl`. */
export const evalGenerationLine = z.object({
  promptId: z.string(),
  prompt: z.string(),
  reference: z.string().optional(),
  policy: z.number().int().min(0),
  preference: vector,
  response: z.string(),
  rewards: z.record(z.string(), finite),
  collapsed: collapseRule.nullable(),
});

/** What the record needs besides the result. */
export interface EvalRecordMeta {
  method: string;
  task?: string;
  trainSeconds?: number;
  trainCpuSeconds?: number;
  trainGpuSeconds?: number;
  promptsFile: string;
  settings: EvalSettings;
}

/** The record of an evaluation (see evalRecord). */
export function buildEvalRecord(result: EvalResult, meta: EvalRecordMeta): EvalRecord {
  const { byRule, collapsed, responses, percent, options } = result.collapse;
  return {
    format: 1,
    method: meta.method,
    ...result.metrics,
    perPreference: result.points.map((p) => ({ preference: p.preference, collapse: p.collapse, generationSeconds: p.generationSeconds })),
    collapse: { percent, collapsed, responses, byRule, options },
    seconds: { ...result.seconds, train: meta.trainSeconds ?? null, trainCpu: meta.trainCpuSeconds ?? null, trainGpu: meta.trainGpuSeconds ?? null },
    task: meta.task ?? null,
    prompts: { file: meta.promptsFile, count: result.prompts },
    settings: meta.settings,
    createdAt: new Date().toISOString(),
  };
}

/** Writes `runDir/eval/generations.jsonl`, then `runDir/eval/record.json`, each atomically. */
export async function writeEvalFiles(runDir: string, record: EvalRecord, generations: readonly EvalGeneration[]): Promise<{ record: string; generations: string }> {
  mkdirSync(join(runDir, EVAL_FILES.dir), { recursive: true });
  const files = { record: join(runDir, EVAL_FILES.record), generations: join(runDir, EVAL_FILES.generations) };
  await writeJsonlAtomic(files.generations, generations, { overwrite: true });
  await writeTextAtomic(files.record, `${JSON.stringify(record, null, 2)}\n`);
  return files;
}

/** The record of `runDir`, checked; undefined when there is none. Errors name the file and field. */
export function readEvalRecord(runDir: string): EvalRecord | undefined {
  const file = resolve(runDir, EVAL_FILES.record);
  if (!existsSync(file)) return undefined;
  const r = checkRecord(evalRecord, readJsonFile(file));
  if (r.problem !== undefined) throw new Error(`${file}: ${r.problem}`);
  return r.data;
}

/** The generations of `runDir` (empty when the file is missing); errors name the file and line. */
export async function readEvalGenerations(runDir: string): Promise<EvalGeneration[]> {
  const file = resolve(runDir, EVAL_FILES.generations);
  if (!existsSync(file)) return [];
  const out: EvalGeneration[] = [];
  for await (const raw of readJsonlRecords(file)) {
    const r = raw.problem === undefined ? checkRecord(evalGenerationLine, raw.value) : { problem: raw.problem };
    if (r.problem !== undefined) throw new Error(`${file}, line ${raw.line}: ${r.problem}`);
    out.push(r.data as EvalGeneration);
  }
  return out;
}

/** Whether two settings are the same (key order aside). */
export function sameSettings(a: EvalSettings, b: EvalSettings): boolean {
  const canon = (s: EvalSettings) => JSON.stringify(evalSettings.parse(s));
  return canon(a) === canon(b);
}
