// A trained model answering training prompts, for the data a method makes itself (ParetoHqD's
// stage-2 pool, RiC's online stage): batched sampling, each answer cleaned as the task's pool was,
// empty and degenerate answers dropped.
import type { CausalLM } from '../engine/causal-lm.js';
import { cleanResponse } from '../task/pool.js';

/** RiC's filter of degenerate generations (§6.4): "....." or at least three ":)". */
export function isDegenerate(text: string): boolean {
  return text.includes('.....') || text.split(':)').length - 1 >= 3;
}

export interface AnswerOptions {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  /** Batch b (prompts b…b+batchSize−1) samples with seed + b. */
  seed: number;
  /** Prompts per generate call. Default 64. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: AnswerProgress) => void;
}

/** How far answering is: `done` of `total` prompts answered, and the seconds left at the pace so far. */
export interface AnswerProgress {
  done: number;
  total: number;
  etaSeconds: number;
}

export interface Answer {
  /** The cleaned answer, or undefined when it was empty or degenerate. */
  response: string | undefined;
  /** The seed its batch sampled with. */
  seed: number;
}

/** One answer per prompt text, in order. */
export async function answerPrompts(lm: CausalLM, prompts: readonly string[], o: AnswerOptions): Promise<Answer[]> {
  const batch = o.batchSize ?? 64;
  const answers: Answer[] = [];
  const started = performance.now();
  for (let b = 0; b < prompts.length; b += batch) {
    const seed = o.seed + b;
    const out = await lm.generate(prompts.slice(b, b + batch), { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, seed, signal: o.signal });
    for (const g of out) {
      const response = cleanResponse(g.text);
      answers.push({ response: response === undefined || isDegenerate(response) ? undefined : response, seed });
    }
    const done = Math.min(b + batch, prompts.length);
    const seconds = (performance.now() - started) / 1000;
    o.onProgress?.({ done, total: prompts.length, etaSeconds: (seconds / done) * (prompts.length - done) });
  }
  return answers;
}
