// A user's own TypeScript/JavaScript function as a scorer.
import { createHash } from 'node:crypto';
import type { Scorer, ScoreInput } from './scorer.js';

/** Scores one sample. */
export type SampleScoreFn = (sample: ScoreInput) => number | Promise<number>;
/** Scores a batch: one number per input, in order. */
export type BatchScoreFn = (batch: ScoreInput[]) => number[] | Promise<number[]>;

export interface FunctionScorerOptions {
  /**
   * Names this version of the function for the cache; change it when the scores change.
   * Default: the sha256 of the function's source (`fn.toString()`), which misses changes in
   * what the function calls, so give a version when it depends on other code.
   */
  version?: string;
  /** True when `fn` takes a whole batch (a `BatchScoreFn`). Default false: one sample per call. */
  batch?: boolean;
  /** Whether the scores need `reference` (samples without one are then an error). Default false. */
  needsReference?: boolean;
}

/** A scorer calling `fn`; its id is `fn:<name>:<version>`. */
export function functionScorer(name: string, fn: SampleScoreFn, options?: FunctionScorerOptions & { batch?: false }): Scorer;
export function functionScorer(name: string, fn: BatchScoreFn, options: FunctionScorerOptions & { batch: true }): Scorer;
export function functionScorer(name: string, fn: SampleScoreFn | BatchScoreFn, options: FunctionScorerOptions = {}): Scorer {
  const version = options.version ?? createHash('sha256').update(fn.toString()).digest('hex');
  return {
    name,
    id: `fn:${name}:${version}`,
    needsReference: options.needsReference ?? false,
    async score(batch, signal) {
      signal?.throwIfAborted();
      if (options.batch) return (fn as BatchScoreFn)(batch);
      const scores: number[] = [];
      for (const s of batch) {
        signal?.throwIfAborted();
        scores.push(await (fn as SampleScoreFn)(s));
      }
      return scores;
    },
  };
}
