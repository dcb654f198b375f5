// What a scorer is: something that turns a batch of (prompt, response[, reference]) into one
// number each, the reward on one objective. Built-ins, reward models and user functions all
// implement this one interface, so scoring, caching and the CLI treat them alike.

/** The texts a scorer sees. `reference` is the gold response, when the dataset has one. */
export interface ScoreInput {
  prompt: string;
  response: string;
  reference?: string;
}

export interface Scorer {
  /** The objective this scorer produces: its column name in the scored dataset. */
  readonly name: string;
  /**
   * The scorer and every setting that changes its numbers, e.g. 'builtin:positivity@1'. Cached
   * scores are filed under it, so it must change whenever the scores could.
   */
  readonly id: string;
  /** True when scores are undefined without `reference` (samples lacking one are an error). */
  readonly needsReference?: boolean;
  /** One finite number per input, in input order. Should reject with `signal.reason` once aborted. */
  score(batch: ScoreInput[], signal?: AbortSignal): Promise<number[]>;
  /** Frees what the scorer holds (a model's weights). Safe to call twice. */
  dispose?(): void;
}
