// The task's response pool: for each prompt, the corpus's own continuation (the reference) and
// base-model samples at several temperatures. Low temperatures stay close to the corpus, high ones
// wander off; scored on conflicting objectives, they spread the pool over the reward space.
import type { CausalLM } from '../engine/causal-lm.js';
import type { PromptRecord, Sample } from '../data/records.js';

/** A steered run: samples at `temperature` with `logitBias` added to the logits (e.g. toward positive words). */
export interface SteeredRun {
  /** Names the run in sample ids ("<prompt id>/<name>-<k>"). */
  name: string;
  temperature: number;
  logitBias: Record<number, number>;
}

export interface PoolOptions {
  /** Sampling temperatures; each prompt gets `samplesPerTemperature` samples at each. Default [0.7, 1.0, 1.3]. */
  temperatures?: number[];
  /** Steered runs, each also `samplesPerTemperature` samples a prompt. Default none. */
  steered?: SteeredRun[];
  /** Default 1. */
  samplesPerTemperature?: number;
  /** Tokens per response at most. Default 32. */
  maxNewTokens?: number;
  /** Prompts per generate call. Default 64. */
  batchSize?: number;
  /** Base seed of the sampling. Default 0. */
  seed?: number;
  /** Name of the model in each sample's provenance. Default 'base'. */
  modelName?: string;
}

export interface PoolProgress {
  done: number;
  total: number;
  tokensPerSecond: number;
  /** Estimated seconds left. */
  etaSeconds: number;
}

/**
 * A generated text as a response: the first line only (a sentence does not span lines here),
 * trailing space dropped; undefined when no word character is left. The leading space stays: it
 * is part of the continuation's first token.
 */
export function cleanResponse(text: string): string | undefined {
  const line = text.split('\n', 1)[0].trimEnd();
  return /\w/.test(line) ? line : undefined;
}

/** The reference continuations as samples, then the base model's samples (cleaned; empty ones dropped). */
export async function buildPool(
  model: CausalLM,
  prompts: readonly PromptRecord[],
  options: PoolOptions = {},
  hooks: { onProgress?: (p: PoolProgress) => void; signal?: AbortSignal } = {},
): Promise<{ samples: Sample[]; dropped: number }> {
  const temperatures = options.temperatures ?? [0.7, 1.0, 1.3];
  const perTemperature = options.samplesPerTemperature ?? 1;
  const batchSize = options.batchSize ?? 64;
  const maxNewTokens = options.maxNewTokens ?? 32;
  const seed = options.seed ?? 0;
  const modelName = options.modelName ?? 'base';

  const samples: Sample[] = [];
  for (const p of prompts) {
    if (p.reference === undefined) throw new Error(`prompt ${p.id} has no reference continuation`);
    samples.push({ id: `${p.id}/reference`, prompt: p.prompt, response: p.reference, reference: p.reference, group: p.id, origin: 'dataset' });
  }
  const kinds: SteeredRun[] = [...temperatures.map((temperature) => ({ name: `t${temperature}`, temperature, logitBias: {} })), ...(options.steered ?? [])];
  const runs = kinds.flatMap((kind) => Array.from({ length: perTemperature }, (_, k) => ({ ...kind, k })));
  const total = runs.length * prompts.length;
  let done = 0;
  let dropped = 0;
  let tokens = 0;
  const started = Date.now();
  for (const [r, { name, temperature, logitBias, k }] of runs.entries()) {
    for (let b = 0; b < prompts.length; b += batchSize) {
      const batch = prompts.slice(b, b + batchSize);
      // one seed per (run, batch): the same settings give the same pool
      const runSeed = seed + 1_000_003 * r + b;
      const out = await model.generate(
        batch.map((p) => p.prompt),
        { maxNewTokens, temperature, seed: runSeed, logitBias, signal: hooks.signal },
      );
      out.forEach((g, i) => {
        tokens += g.tokenIds.length;
        const response = cleanResponse(g.text);
        if (response === undefined) return void dropped++;
        const p = batch[i];
        samples.push({
          id: `${p.id}/${name}-${k}`,
          prompt: p.prompt,
          response,
          reference: p.reference,
          group: p.id,
          origin: 'generated',
          generatedBy: { model: modelName, preference: [], seed: runSeed, temperature, ...(Object.keys(logitBias).length > 0 && { steering: name }) },
        });
      });
      done += batch.length;
      const seconds = Math.max(1e-9, (Date.now() - started) / 1000);
      hooks.onProgress?.({ done, total, tokensPerSecond: tokens / seconds, etaSeconds: (seconds / done) * (total - done) });
    }
  }
  return { samples, dropped };
}
