// How strongly a pool's objectives conflict. Two views:
// - correlations between objectives over the pool (Pearson on the values, Spearman on the ranks),
//   and within each prompt's own responses (does being more X cost Y for the same prompt?);
// - the Pareto layers: with conflicting objectives many points are mutually non-dominated, so the
//   first layers hold a larger share of the pool than they would if the objectives agreed.
import { responseGroups, type ScoredDataset } from '../data/records.js';
import { paretoRanks } from '../moo/pareto.js';

export interface ConflictReport {
  objectives: string[];
  samples: number;
  /** pearson[i][j]: Pearson correlation of objectives i and j over the pool. */
  pearson: number[][];
  /** Spearman rank correlation (average ranks for ties). */
  spearman: number[][];
  /** Mean over prompts (with at least 3 responses) of the within-prompt Pearson correlation; NaN when undefined. */
  withinPromptPearson: number[][];
  /** Prompts that entered withinPromptPearson. */
  promptGroups: number;
  layers: {
    /** Number of Pareto layers. */
    count: number;
    /** Points on layer 1, and the shares of the pool on layer 1, layers 1–3 and 1–10. */
    first: number;
    firstShare: number;
    top3Share: number;
    top10Share: number;
  };
}

/** Pearson correlation of x and y; NaN when either is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}

/** Ranks 1..n, tied values sharing their average rank. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const ranks = new Float64Array(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]] === x[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(averageRanks(x), averageRanks(y));
}

function matrix(m: number, cell: (i: number, j: number) => number): number[][] {
  return Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 1 : cell(i, j))));
}

/** The conflict measures of a scored pool; `group` of each sample ties a prompt's responses. */
export function measureConflict(pool: ScoredDataset): ConflictReport {
  const m = pool.objectives.length;
  const columns = pool.objectives.map((_, j) => pool.column(j));

  const usable = responseGroups(pool.samples).filter((g) => g.length >= 3);
  const within = (i: number, j: number) => {
    let sum = 0;
    let count = 0;
    for (const g of usable) {
      const r = pearson(
        g.map((k) => columns[i][k]),
        g.map((k) => columns[j][k]),
      );
      if (Number.isFinite(r)) {
        sum += r;
        count++;
      }
    }
    return count > 0 ? sum / count : Number.NaN;
  };

  const ranks = paretoRanks({ data: pool.rewards, m });
  let count = 0;
  const perLayer = new Map<number, number>();
  for (const r of ranks) {
    perLayer.set(r, (perLayer.get(r) ?? 0) + 1);
    count = Math.max(count, r);
  }
  const upTo = (k: number) => {
    let s = 0;
    for (let r = 1; r <= k; r++) s += perLayer.get(r) ?? 0;
    return s / pool.size;
  };
  return {
    objectives: [...pool.objectives],
    samples: pool.size,
    pearson: matrix(m, (i, j) => pearson(columns[i], columns[j])),
    spearman: matrix(m, (i, j) => spearman(columns[i], columns[j])),
    withinPromptPearson: matrix(m, within),
    promptGroups: usable.length,
    layers: { count, first: perLayer.get(1) ?? 0, firstShare: upTo(1), top3Share: upTo(3), top10Share: upTo(10) },
  };
}
