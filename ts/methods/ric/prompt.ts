// What RiC writes into a prompt (design: ../shared/design/paretohqd.md §9.2, §9.4): the score
// block, and the scores a preference ω asks for.
//
// The block goes after the prompt and right before the response:
//
//     {prompt} <rm1_score> 1.7 <rm2_score> -0.9\n{response}
//
// i.e. for every objective i (1-based) a space, its marker, a space and its score, then the
// response marker ("\n" by default). The prompt is kept whole, so this works the same for a plain
// continuation (the built-in task: the response continues the prompt's sentence) and for a prompt
// that ends with its own marker ("...\n\nAssistant:"; RiC itself puts the scores before that marker,
// moalign after it, so that the block is always a suffix: policies.json's `promptSuffix`). Training
// and generation use the same string; the markers are plain text, no special tokens.
import { Rng } from '../../util/rng.js';

export interface RicPromptFormat {
  /** The marker before objective i's score; `{i}` becomes the 1-based index. RiC's: "<rm{i}_score>". */
  scoreMarker: string;
  /** What follows the scores, right before the response. Default "\n". */
  responseMarker: string;
}

/** RiC's markers, with a newline before the response. */
export const RIC_PROMPT_FORMAT: Readonly<RicPromptFormat> = { scoreMarker: '<rm{i}_score>', responseMarker: '\n' };

/**
 * `x` rounded to one decimal, halves away from zero as the number is written in decimal (−0.05 →
 * −0.1, 0.15 → 0.2, 2.25 → 2.3), never −0. Scores on the binary grid are rounded after a
 * 12-digit cut, so 1.45 (stored as 1.4499…) rounds as written.
 */
export function roundScore(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`a score must be finite, got ${x}`);
  const tenths = Math.round(Number((Math.abs(x) * 10).toPrecision(12)));
  return tenths === 0 ? 0 : (Math.sign(x) * tenths) / 10;
}

/** A score as RiC writes it: rounded to 0.1, one decimal always shown ("1.7", "-0.9", "0.0", "3.0"). */
export function formatScore(x: number): string {
  return roundScore(x).toFixed(1);
}

/** The block for these scores (one per objective, in order): " <rm1_score> 1.7 <rm2_score> -0.9\n". */
export function scoreBlock(scores: readonly number[], format: RicPromptFormat = RIC_PROMPT_FORMAT): string {
  if (scores.length === 0) throw new RangeError('no scores to write');
  return scores.map((s, i) => ` ${format.scoreMarker.replaceAll('{i}', String(i + 1))} ${formatScore(s)}`).join('') + format.responseMarker;
}

/** The prompt conditioned on `scores`: the prompt, then its score block. */
export function conditionedPrompt(prompt: string, scores: readonly number[], format: RicPromptFormat = RIC_PROMPT_FORMAT): string {
  return prompt + scoreBlock(scores, format);
}

/** How a preference becomes target scores (§9.4). */
export type TargetMapping = 'l2' | 'linf' | 'linear';

/** Bounds of the targets: one [low, high] for every objective, or one pair per objective. */
export type TargetBounds = readonly [number, number] | { low: readonly number[]; high: readonly number[] };

/**
 * The z-scores ω asks for, unrounded (the prompt rounds them), each between its low and high:
 * - `l2` (RiC's evaluation): R_i = ω_i / ‖ω‖₂ · (high − low) + low;
 * - `linf`: R_a = high for a = argmax ω (the first on ties), R_i = min(m·ω_i, 1)·(high − low) + low otherwise;
 * - `linear`: R_i = ω_i · (high − low) + low.
 */
export function targetScores(w: readonly number[], mapping: TargetMapping, bounds: TargetBounds): number[] {
  const m = w.length;
  const [low, high] = 'low' in bounds ? [bounds.low, bounds.high] : [Array<number>(m).fill(bounds[0]), Array<number>(m).fill(bounds[1])];
  if (m === 0 || low.length !== m || high.length !== m) throw new RangeError(`bounds for ${low.length} objectives do not fit a preference of ${m}`);
  if (w.some((x) => !(x >= 0) || !Number.isFinite(x)) || w.every((x) => x === 0)) throw new RangeError(`preference [${w.join(', ')}] must be >= 0 and not all 0`);
  const scale = (i: number, f: number) => f * (high[i] - low[i]) + low[i];
  switch (mapping) {
    case 'l2': {
      const norm = Math.hypot(...w);
      return w.map((x, i) => scale(i, x / norm));
    }
    case 'linf': {
      const a = w.indexOf(Math.max(...w));
      return w.map((x, i) => (i === a ? high[i] : scale(i, Math.min(m * x, 1))));
    }
    case 'linear':
      return w.map((x, i) => scale(i, x));
    default:
      throw new RangeError(`unknown target mapping "${String(mapping)}" (l2, linf or linear)`);
  }
}

/** How many N(0, 1) values RiC draws for its bounds. */
export const GAUSSIAN_DRAWS = 50_000;

/** RiC's random bounds, made reproducible: the min and max of `draws` standard normal values drawn with `seed`. */
export function gaussianBounds(draws: number, seed: number): [number, number] {
  if (!Number.isSafeInteger(draws) || draws < 2) throw new RangeError(`draws must be an integer >= 2, got ${draws}`);
  const rng = new Rng(seed);
  let [low, high] = [Infinity, -Infinity];
  for (let k = 0; k < draws; k++) {
    // Box–Muller; 1 − u lies in (0, 1], so the log is finite
    const z = Math.sqrt(-2 * Math.log(1 - rng.uniform())) * Math.cos(2 * Math.PI * rng.uniform());
    low = Math.min(low, z);
    high = Math.max(high, z);
  }
  return [low, high];
}

/** Each objective's min and max over a row-major (n, m) matrix of training z-scores. */
export function dataBounds(z: ArrayLike<number>, m: number): { low: number[]; high: number[] } {
  const low = Array<number>(m).fill(Infinity);
  const high = Array<number>(m).fill(-Infinity);
  for (let k = 0; k < z.length; k++) {
    low[k % m] = Math.min(low[k % m], z[k]);
    high[k % m] = Math.max(high[k % m], z[k]);
  }
  return { low, high };
}
