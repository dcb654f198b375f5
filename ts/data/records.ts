// The records every method reads and writes (design: ../shared/design/paretohqd.md §1.1), as zod
// schemas for the files and as the in-memory form the methods use.
//
// On disk (JSONL or Parquet) a scored sample is {id, prompt, response, rewards: {name: number}}.
// In memory a dataset keeps its samples' texts as objects and the rewards as one row-major
// Float64Array (n, m) in the order of `objectives`: the form the native selection code takes.
import { z } from 'zod';

/** Where a sample came from: the dataset, or a model's generation (stage-2 data). */
export const sampleOrigin = z.enum(['dataset', 'generated']);

/** Provenance of a generated sample. */
export const generatedBy = z.object({
  model: z.string(),
  preference: z.array(z.number()),
  seed: z.number().int(),
  temperature: z.number().optional(),
  /** A steered sample: the name of the logit bias it was drawn with. */
  steering: z.string().optional(),
});

/** The text fields of a sample. `reference` is an optional gold response that scorers such as
 *  fidelity compare with; `group` ties samples of one source record (an HH pair's two sides). */
const textFields = {
  id: z.string().min(1),
  prompt: z.string().min(1, 'prompt is empty'),
  response: z.string().min(1, 'response is empty'),
  reference: z.string().optional(),
  group: z.string().optional(),
  origin: sampleOrigin.optional(),
  generatedBy: generatedBy.optional(),
};

/** An unscored sample: what `score-data` reads. `id` may be absent (then the line number is used). */
export const textSampleRecord = z.object({ ...textFields, id: textFields.id.optional() });
export type TextSampleRecord = z.infer<typeof textSampleRecord>;

/** A reward: a finite number. */
export const reward = z.number().refine(Number.isFinite, 'reward must be a finite number');

/** A scored sample as stored on disk. */
export const scoredSampleRecord = z.object({ ...textFields, rewards: z.record(z.string().min(1), reward) });
export type ScoredSampleRecord = z.infer<typeof scoredSampleRecord>;

/** An Anthropic HH-RLHF preference pair: two full dialogues ending with an Assistant turn. */
export const preferencePairRecord = z.object({ chosen: z.string().min(1), rejected: z.string().min(1) });
export type PreferencePairRecord = z.infer<typeof preferencePairRecord>;

/** A prompt (for generation), with the corpus's own continuation as its reference when known. */
export const promptRecord = z.object({ id: z.string().min(1), prompt: z.string().min(1, 'prompt is empty'), reference: z.string().optional() });
export type PromptRecord = z.infer<typeof promptRecord>;

/** A sample in memory: the text fields, always with an id and an origin. */
export interface Sample {
  id: string;
  prompt: string;
  response: string;
  reference?: string;
  group?: string;
  origin: 'dataset' | 'generated';
  generatedBy?: z.infer<typeof generatedBy>;
}

/**
 * Scored samples: texts plus a reward matrix. Every objective is maximised; the order of
 * `objectives` gives the meaning of every reward row and of every preference vector.
 */
export class ScoredDataset {
  constructor(
    readonly objectives: readonly string[],
    readonly samples: Sample[],
    /** Row-major (n, m): rewards[i * m + j] is sample i's reward on objectives[j]. */
    readonly rewards: Float64Array,
  ) {
    if (rewards.length !== samples.length * objectives.length)
      throw new RangeError(`rewards hold ${rewards.length} numbers, expected ${samples.length} samples × ${objectives.length} objectives`);
    if (new Set(objectives).size !== objectives.length) throw new RangeError(`objective names repeat: ${objectives.join(', ')}`);
  }

  get size(): number {
    return this.samples.length;
  }

  /** Sample i's rewards, in objective order (a copy). */
  rewardsOf(i: number): number[] {
    const m = this.objectives.length;
    return Array.from(this.rewards.subarray(i * m, (i + 1) * m));
  }

  /** One objective's rewards over all samples (a copy), by name or index. */
  column(objective: string | number): Float64Array {
    const j = typeof objective === 'number' ? objective : this.objectives.indexOf(objective);
    if (j < 0 || j >= this.objectives.length) throw new RangeError(`no objective ${objective} (objectives: ${this.objectives.join(', ')})`);
    const m = this.objectives.length;
    return Float64Array.from({ length: this.size }, (_, i) => this.rewards[i * m + j]);
  }

  /** The record written to disk for sample i. */
  record(i: number): ScoredSampleRecord {
    const s = this.samples[i];
    const rewards = Object.fromEntries(this.objectives.map((name, j) => [name, this.rewards[i * this.objectives.length + j]]));
    return { ...s, rewards };
  }

  /** The samples at `indices`, in that order. */
  subset(indices: ArrayLike<number>): ScoredDataset {
    const m = this.objectives.length;
    const rewards = new Float64Array(indices.length * m);
    const samples: Sample[] = [];
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      samples.push(this.samples[i]);
      rewards.set(this.rewards.subarray(i * m, (i + 1) * m), k * m);
    }
    return new ScoredDataset(this.objectives, samples, rewards);
  }
}

/**
 * The responses to each prompt: row indices by `group` (the samples one prompt's responses share),
 * or by prompt text where a sample has no group; groups in order of first appearance.
 */
export function responseGroups(samples: readonly Pick<Sample, 'group' | 'prompt'>[]): number[][] {
  const groups = new Map<string, number[]>();
  samples.forEach((s, i) => {
    const key = s.group ?? s.prompt;
    const members = groups.get(key);
    if (members) members.push(i);
    else groups.set(key, [i]);
  });
  return [...groups.values()];
}

/**
 * The rows of the `fraction` best samples of `pool` by objective `j` (⌈fraction·n⌉, at least one),
 * best first; equal rewards keep pool order.
 */
export function topByObjective(pool: ScoredDataset, j: number, fraction: number): number[] {
  const r = pool.column(j);
  const order = Array.from({ length: pool.size }, (_, i) => i).sort((a, b) => r[b] - r[a] || a - b);
  return order.slice(0, Math.max(1, Math.ceil(fraction * pool.size)));
}
