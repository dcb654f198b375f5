// Attaching rewards to samples: every scorer over every sample, through the cache.
import { ScoredDataset, type Sample } from '../records.js';
import type { ScoreCache } from './cache.js';
import type { Scorer, ScoreInput } from './scorer.js';

/** Where one scorer stands. */
export interface ScoreProgress {
  /** The objective being scored. */
  scorer: string;
  /** Samples with a score so far, cached ones included. */
  done: number;
  /** The samples. */
  total: number;
  /** How many of `done` came from the cache. */
  cached: number;
}

export interface ScoreSamplesOptions {
  /** Samples per call to a scorer, and per cache append. Default 64. */
  batchSize?: number;
  /** Where finished scores are kept and looked up; false (the default) scores everything. */
  cache?: ScoreCache | false;
  /** Stops between batches (and inside scorers that support it), rejecting with `signal.reason`. */
  signal?: AbortSignal;
  /** Called once per scorer after the cache lookup, then after every batch. */
  onProgress?: (p: ScoreProgress) => void;
}

/**
 * Scores `samples` with each scorer, in order: the dataset's objectives are the scorers' names.
 * Only samples the cache lacks reach a scorer; each finished batch is added to the cache at once,
 * so an interrupted run keeps it. Every score must be a finite number, one per sample.
 * Scorers are not disposed.
 */
export async function scoreSamples(samples: Sample[], scorers: Scorer[], options: ScoreSamplesOptions = {}): Promise<ScoredDataset> {
  const { batchSize = 64, cache = false, signal, onProgress } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  // checked before any scoring, so a long run cannot fail at its end for a missing reference
  for (const scorer of scorers) {
    const lacking = scorer.needsReference ? samples.find((s) => s.reference === undefined) : undefined;
    if (lacking) throw new Error(`scorer ${scorer.name} needs a reference, and sample ${lacking.id} has none`);
  }
  const m = scorers.length;
  const rewards = new Float64Array(samples.length * m);
  const inputs: ScoreInput[] = samples.map(({ prompt, response, reference }) => (reference === undefined ? { prompt, response } : { prompt, response, reference }));

  for (const [j, scorer] of scorers.entries()) {
    signal?.throwIfAborted();
    const cached = cache ? await cache.scores(scorer.id) : undefined;
    const missing: number[] = [];
    samples.forEach((_, i) => {
      const v = cached?.get(inputs[i]);
      if (v === undefined) missing.push(i);
      else rewards[i * m + j] = v;
    });
    const hits = samples.length - missing.length;
    const progress = (done: number) => onProgress?.({ scorer: scorer.name, done, total: samples.length, cached: hits });
    progress(hits);
    for (let b = 0; b < missing.length; b += batchSize) {
      signal?.throwIfAborted();
      const rows = missing.slice(b, b + batchSize);
      const batch = rows.map((i) => inputs[i]);
      const scores = await scoreBatch(scorer, batch, rows.map((i) => samples[i]), signal);
      rows.forEach((i, k) => (rewards[i * m + j] = scores[k]));
      await cached?.add(batch, scores);
      progress(hits + b + rows.length);
    }
  }
  return new ScoredDataset(scorers.map((s) => s.name), samples, rewards);
}

/** One call to the scorer, its answer checked: one finite number per sample. */
async function scoreBatch(scorer: Scorer, batch: ScoreInput[], samples: Sample[], signal: AbortSignal | undefined): Promise<number[]> {
  let scores: unknown;
  try {
    scores = await scorer.score(batch, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    const ids = samples.length === 1 ? `sample ${samples[0].id}` : `a batch of ${samples.length} samples from ${samples[0].id}`;
    throw new Error(`scorer ${scorer.name} (${scorer.id}) failed on ${ids}: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(scores) || scores.length !== batch.length)
    throw new Error(`scorer ${scorer.name} (${scorer.id}) returned ${Array.isArray(scores) ? `${scores.length} scores` : typeof scores} for a batch of ${batch.length} samples`);
  scores.forEach((v: unknown, k) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`scorer ${scorer.name} (${scorer.id}) gave ${String(v)} for sample ${samples[k].id}: scores must be finite numbers`);
  });
  return scores as number[];
}
