// The method-agnostic evaluation (paretohqd.md §8.2–8.3): every policy answers every held-out
// prompt once with the same decoding and seeds, the responses are scored with the raw rewards, and
// each preference ω gives one point ξ(ω), the per-objective mean. The points make the learned
// front, measured by frontMetrics (metrics.md §7); collapse is counted alongside.
import { performance } from 'node:perf_hooks';
import { usageClock } from '../engine/runtime.js';
import type { PromptRecord, Sample } from '../data/records.js';
import type { ScoreCache } from '../data/scorers/cache.js';
import { scoreSamples } from '../data/scorers/score.js';
import type { Scorer } from '../data/scorers/scorer.js';
import { frontMetrics, type FrontMetricsOptions, type FrontMetricsRecord } from '../moo/front-metrics.js';
import { cleanResponse } from '../task/pool.js';
import { type CollapseCount, type CollapseOptions, type CollapseRule, collapseOptions, countCollapsed, isCollapsed } from './collapse.js';
import type { Policy } from './policies.js';

/**
 * How a generated text becomes the scored response. 'trim' (the default) drops surrounding
 * whitespace; 'first-line' keeps the first line as the built-in task's pool does (cleanResponse),
 * and an empty string when it holds no word. Responses are never dropped: an empty one is scored
 * (and counts as collapsed), so every preference is measured on the same prompts.
 */
export type CleanMode = 'trim' | 'first-line' | ((text: string) => string);

/** Where the evaluation stands: generating (responses done over all policies), then scoring. */
export type EvalProgress =
  | { phase: 'generate'; policy: number; policies: number; preference: number[]; done: number; total: number; etaSeconds: number }
  | { phase: 'score'; scorer: string; done: number; total: number };

export interface EvaluateOptions {
  /** Tokens per response at most (the design's defaults are task-dependent: 128 or 48). */
  maxNewTokens: number;
  /** Default 1.0 (RiC's evaluation). */
  temperature?: number;
  /** Default 0.9. */
  topP?: number;
  /** Default 0. Batch b (prompts b…b+batchSize−1) samples with seed + b, the same for every policy. */
  seed?: number;
  /** Prompts per generate call. Default 32. */
  batchSize?: number;
  /** Default 'trim'. */
  clean?: CleanMode;
  /** The collapse detector's thresholds (defaults: 5 words, 0.3, 3 repeats). */
  collapse?: CollapseOptions;
  /** Options of the front metrics. By default the normalisation is this front's own (δ = 0.1);
   *  a comparison passes the bounds pooled over every method. */
  metrics?: Pick<FrontMetricsOptions, 'bounds' | 'hvMargin' | 'sparsityVariant' | 'spacingVariant' | 'onOutside'>;
  /** Samples per scorer call. Default 64. */
  scoreBatchSize?: number;
  /** A score cache (see scoreSamples). Default none. */
  scoreCache?: ScoreCache | false;
  signal?: AbortSignal;
  onProgress?: (p: EvalProgress) => void;
}

/** One response of the evaluation. */
export interface EvalGeneration {
  promptId: string;
  prompt: string;
  reference?: string;
  /** The index of the policy that answered. */
  policy: number;
  preference: number[];
  response: string;
  /** Raw rewards by objective. */
  rewards: Record<string, number>;
  /** The collapse rule that fired, or null. */
  collapsed: CollapseRule | null;
}

/** One preference's point and its collapse. */
export interface PreferencePoint {
  preference: number[];
  /** ξ(ω): the per-objective mean reward over the prompts, in the objectives' order. */
  mean: number[];
  collapse: CollapseCount;
  generationSeconds: number;
}

export interface EvalResult {
  /** The scorers' names, in the order of every preference and mean. */
  objectives: string[];
  /** The metric record of metrics.md §7 over the points. */
  metrics: FrontMetricsRecord;
  points: PreferencePoint[];
  /** CR% pooled over every preference and prompt. */
  collapse: CollapseCount & { options: Required<CollapseOptions> };
  /** Wall clock, and the process's CPU and GPU time over the whole evaluation. */
  seconds: { generation: number; scoring: number; total: number; cpu: number; gpu: number };
  decoding: { maxNewTokens: number; temperature: number; topP: number; seed: number; batchSize: number };
  /** How many prompts each policy answered. */
  prompts: number;
  /** Every response, policy by policy, in prompt order. */
  generations: EvalGeneration[];
}

function cleaner(mode: CleanMode): (text: string) => string {
  if (typeof mode === 'function') return mode;
  if (mode === 'trim') return (t) => t.trim();
  if (mode === 'first-line') return (t) => cleanResponse(t) ?? '';
  throw new RangeError(`clean must be 'trim', 'first-line' or a function, got ${String(mode)}`);
}

function checkOptions(o: EvaluateOptions): void {
  if (!Number.isSafeInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new RangeError(`maxNewTokens must be a positive integer, got ${o.maxNewTokens}`);
  if (o.temperature !== undefined && !(o.temperature > 0 && Number.isFinite(o.temperature))) throw new RangeError(`temperature must be > 0, got ${o.temperature}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${o.topP}`);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
  if (o.batchSize !== undefined && (!Number.isSafeInteger(o.batchSize) || o.batchSize < 1)) throw new RangeError(`batchSize must be a positive integer, got ${o.batchSize}`);
}

/**
 * Evaluates policies on held-out prompts: generate, clean, score, and measure. Every check that
 * can fail (shapes, missing references) runs before the first generation; each policy's
 * `dispose` is called once it has answered every prompt. Scorers are not disposed.
 */
export async function evaluatePolicies(policies: readonly Policy[], prompts: readonly PromptRecord[], scorers: readonly Scorer[], options: EvaluateOptions): Promise<EvalResult> {
  checkOptions(options);
  const decoding = { maxNewTokens: options.maxNewTokens, temperature: options.temperature ?? 1.0, topP: options.topP ?? 0.9, seed: options.seed ?? 0, batchSize: options.batchSize ?? 32 };
  const clean = cleaner(options.clean ?? 'trim');
  const collapse = collapseOptions(options.collapse);
  const objectives = scorers.map((s) => s.name);
  const m = objectives.length;
  if (policies.length === 0) throw new RangeError('no policies to evaluate');
  if (prompts.length === 0) throw new RangeError('no prompts to evaluate on');
  if (m === 0) throw new RangeError('no scorers: the evaluation needs one per objective');
  const names = policies.map((p, i) => p.name ?? `policy ${i}`);
  policies.forEach((p, i) => {
    if (p.preference.length !== m) throw new RangeError(`${names[i]}: preference [${p.preference.join(', ')}] has ${p.preference.length} weights for ${m} objectives (${objectives.join(', ')})`);
  });
  for (const s of scorers) {
    const lacking = s.needsReference ? prompts.find((p) => p.reference === undefined) : undefined;
    if (lacking) throw new Error(`scorer ${s.name} needs a reference, and prompt ${lacking.id} has none`);
  }

  const started = performance.now();
  const usage = usageClock();
  const { signal, onProgress } = options;
  const total = policies.length * prompts.length;
  const samples: Sample[] = [];
  const generationSeconds: number[] = [];
  // a policy whose `sameAs` key an earlier one had answers as that one did: same generator, same decoding and seeds
  const answered = new Map<string, string[]>();
  for (const [k, policy] of policies.entries()) {
    const t0 = performance.now();
    const earlier = policy.sameAs !== undefined ? answered.get(policy.sameAs) : undefined;
    const mine: string[] = [];
    try {
      for (let b = 0; b < prompts.length; b += decoding.batchSize) {
        signal?.throwIfAborted();
        const batch = prompts.slice(b, b + decoding.batchSize);
        const texts =
          earlier?.slice(b, b + batch.length) ??
          (await policy.generate(
            batch.map((p) => p.prompt),
            { maxNewTokens: decoding.maxNewTokens, temperature: decoding.temperature, topP: decoding.topP, seed: decoding.seed + b, signal },
          ));
        if (!Array.isArray(texts) || texts.length !== batch.length) throw new Error(`${names[k]}: generate returned ${Array.isArray(texts) ? texts.length : typeof texts} responses for ${batch.length} prompts`);
        mine.push(...texts);
        texts.forEach((text, i) => {
          const p = batch[i];
          samples.push({
            id: `${p.id}@${k}`,
            prompt: p.prompt,
            response: clean(text),
            ...(p.reference !== undefined && { reference: p.reference }),
            origin: 'generated',
            generatedBy: { model: names[k], preference: policy.preference, seed: decoding.seed + b, temperature: decoding.temperature },
          });
        });
        const done = samples.length;
        const elapsed = (performance.now() - started) / 1000;
        onProgress?.({ phase: 'generate', policy: k, policies: policies.length, preference: policy.preference, done, total, etaSeconds: (elapsed / done) * (total - done) });
      }
    } finally {
      policy.dispose?.();
    }
    if (policy.sameAs !== undefined && earlier === undefined) answered.set(policy.sameAs, mine);
    generationSeconds.push((performance.now() - t0) / 1000);
  }
  const generated = performance.now();

  const scored = await scoreSamples(samples, [...scorers], {
    batchSize: options.scoreBatchSize,
    cache: options.scoreCache ?? false,
    signal,
    onProgress: onProgress && ((p) => onProgress({ phase: 'score', scorer: p.scorer, done: p.done, total: p.total })),
  });
  const finished = performance.now();

  const n = prompts.length;
  const rules = samples.map((s) => isCollapsed(s.response, collapse));
  const points: PreferencePoint[] = policies.map((policy, k) => {
    const mean = new Array<number>(m).fill(0);
    for (let i = k * n; i < (k + 1) * n; i++) for (let j = 0; j < m; j++) mean[j] += scored.rewards[i * m + j];
    return { preference: [...policy.preference], mean: mean.map((s) => s / n), collapse: countCollapsed(rules.slice(k * n, (k + 1) * n)), generationSeconds: generationSeconds[k] };
  });
  const metrics = frontMetrics(
    points.map((p) => p.mean),
    points.map((p) => p.preference),
    { ...options.metrics, objectives },
  );
  const generations: EvalGeneration[] = samples.map((s, i) => {
    const k = Math.floor(i / n);
    const p = prompts[i % n];
    return {
      promptId: p.id,
      prompt: p.prompt,
      ...(p.reference !== undefined && { reference: p.reference }),
      policy: k,
      preference: points[k].preference,
      response: s.response,
      rewards: Object.fromEntries(objectives.map((name, j) => [name, scored.rewards[i * m + j]])),
      collapsed: rules[i],
    };
  });
  const used = usage();
  return {
    objectives,
    metrics,
    points,
    collapse: { ...countCollapsed(rules), options: collapse },
    seconds: { generation: (generated - started) / 1000, scoring: (finished - generated) / 1000, total: (finished - started) / 1000, cpu: used.cpuSeconds, gpu: used.gpuSeconds },
    decoding,
    prompts: n,
    generations,
  };
}
