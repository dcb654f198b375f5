// Panacea's training items from a scored pool (design: ../shared/design/panacea.md §6.4–6.5):
// DPO pairs with one label per objective, or SFT examples with one weight per objective.
import { meanAndStd } from '../../data/normalise.js';
import { responseGroups, type ScoredDataset, topByObjective } from '../../data/records.js';
import type { PreferenceItem } from '../../engine/trainer.js';

/** What pair-building found, for the run's log. */
export interface PairStats {
  pairs: number;
  prompts: number;
  /** Pairs dropped because they tie on every objective. */
  allTies: number;
  /** Per objective: pairs where a wins, b wins, tie. */
  labels: { a: number; b: number; tie: number }[];
}

/** Each objective's population standard deviation over the pool (1 where it is constant). */
function columnStd(pool: ScoredDataset, j: number): number {
  const [, sd] = meanAndStd(pool.column(j));
  return sd > 0 ? sd : 1;
}

/**
 * DPO pairs: every two responses (a before b in pool order) to one prompt (samples of one `group`,
 * or of one prompt text when they have none), labelled o_i = sign(r_i(a) − r_i(b)), 0 when the
 * difference is at most `tieMargin` standard deviations of objective i. Pairs tied on every
 * objective teach nothing and are dropped.
 */
export function preferencePairs(pool: ScoredDataset, options: { tieMargin?: number; maxPerPrompt?: number } = {}): { items: PreferenceItem[]; stats: PairStats } {
  const m = pool.objectives.length;
  const margin = options.tieMargin ?? 0;
  const eps = pool.objectives.map((_, j) => margin * columnStd(pool, j));
  const stats: PairStats = { pairs: 0, prompts: 0, allTies: 0, labels: pool.objectives.map(() => ({ a: 0, b: 0, tie: 0 })) };
  const items: PreferenceItem[] = [];
  for (const members of responseGroups(pool.samples)) {
    let taken = 0;
    for (let x = 0; x < members.length && taken < (options.maxPerPrompt ?? Infinity); x++) {
      for (let y = x + 1; y < members.length && taken < (options.maxPerPrompt ?? Infinity); y++) {
        const [a, b] = [members[x], members[y]];
        const labels = pool.objectives.map((_, j) => {
          const d = pool.rewards[a * m + j] - pool.rewards[b * m + j];
          return Math.abs(d) <= eps[j] ? 0 : Math.sign(d);
        });
        if (labels.every((l) => l === 0)) {
          stats.allTies++;
          continue;
        }
        if (pool.samples[a].prompt !== pool.samples[b].prompt) throw new Error(`group ${pool.samples[a].group}: samples ${pool.samples[a].id} and ${pool.samples[b].id} answer different prompts`);
        labels.forEach((l, j) => (l > 0 ? stats.labels[j].a++ : l < 0 ? stats.labels[j].b++ : stats.labels[j].tie++));
        items.push({ prompt: pool.samples[a].prompt, chosen: pool.samples[a].response, rejected: pool.samples[b].response, labels });
        taken++;
      }
    }
    if (taken > 0) stats.prompts++;
  }
  stats.pairs = items.length;
  return { items, stats };
}

/**
 * SFT examples with one weight per objective. "top": the best ⌈fraction·n⌉ samples by objective
 * i are in D_i with weight 1 (a sample may be in several); "reward": every sample, weight i its
 * reward i min–max normalised over the pool (so the best on i counts most for L_i). Samples in no
 * D_i are left out.
 */
export function weightedExamples(pool: ScoredDataset, options: { weighting: 'top' | 'reward'; topFraction: number }): PreferenceItem[] {
  const m = pool.objectives.length;
  const n = pool.size;
  const weights = Array.from({ length: n }, () => new Array<number>(m).fill(0));
  for (let j = 0; j < m; j++) {
    const r = pool.column(j);
    if (options.weighting === 'top') {
      for (const i of topByObjective(pool, j, options.topFraction)) weights[i][j] = 1;
    } else {
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of r) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)];
      for (let i = 0; i < n; i++) weights[i][j] = hi > lo ? (r[i] - lo) / (hi - lo) : 1;
    }
  }
  return pool.samples.flatMap((s, i) => (weights[i].some((w) => w > 0) ? [{ prompt: s.prompt, chosen: s.response, labels: weights[i] }] : []));
}

/** True when some prompt of the pool has two or more responses (DPO pairs can be formed). */
export function hasSeveralResponses(pool: ScoredDataset): boolean {
  return responseGroups(pool.samples).some((g) => g.length >= 2);
}
