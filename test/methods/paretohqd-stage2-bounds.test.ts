// ParetoHqD's stage2Bounds (paretohqd.md §6) without models: selectStage2 on two scored pools, a
// stand-in for stage 1's (the task pool) and one for the generated pool whose rewards reach beyond
// stage 1's bounds. 'stage1' selects in stage 1's normalised space (clamping what lies beyond it),
// 'recompute' in the generated pool's own; the record logs both sets of bounds either way.
import { describe, expect, it } from 'vitest';
import { ScoredDataset, type Sample } from '../../ts/data/records.js';
import { resolveParetoHqdConfig, selectStage2, stage2SelectionBounds } from '../../ts/methods/paretohqd/index.js';
import { parseSelectionRecord, selectParetoHq, twoObjectiveGrid } from '../../ts/moo/index.js';
import { randomRows } from '../helpers/moo-reference.js';
import { rng } from '../helpers/reference.js';

const objectives = ['positivity', 'fidelity'];
const quiet = { onWarning: () => {} };

/** n random samples with rewards scale·u + shift, u uniform in [0, 1)². */
function scoredPool(n: number, seed: number, scale: number, shift: number): ScoredDataset {
  const rows = randomRows(n, 2, rng(seed), 0);
  const samples: Sample[] = rows.map((_, i) => ({ id: `s${seed}-${i}`, prompt: 'p', response: `r${i}`, origin: 'dataset' }));
  return new ScoredDataset(objectives, samples, Float64Array.from(rows.flat().map((u) => scale * u + shift)));
}

/** The generated pool's min and max per objective: its 'minmax' bounds. */
function minMax(pool: ScoredDataset): { lo: number[]; hi: number[] } {
  const lo = objectives.map((_, j) => Math.min(...pool.samples.map((_, i) => pool.rewardsOf(i)[j])));
  const hi = objectives.map((_, j) => Math.max(...pool.samples.map((_, i) => pool.rewardsOf(i)[j])));
  return { lo, hi };
}

const configWith = (stage2Bounds?: 'recompute' | 'stage1') =>
  resolveParetoHqdConfig({ task: 'task', selection: { k1: 10, k2: 5, paretoPoolMin: 40 }, ...(stage2Bounds ? { augmentation: { stage2Bounds } } : {}) });

describe("stage 2's bounds", () => {
  const prefs = twoObjectiveGrid(5);
  const original = scoredPool(200, 1, 1, 0); // rewards in [0, 1)
  const generated = scoredPool(150, 2, 2, -0.4); // in [-0.4, 1.6): beyond stage 1's bounds both ways

  it("default 'recompute'; anything else than 'recompute' or 'stage1' is refused", () => {
    expect(configWith().augmentation.stage2Bounds).toBe('recompute');
    expect(() => resolveParetoHqdConfig({ task: 'task', augmentation: { stage2Bounds: 'pooled' } })).toThrow(/augmentation\.stage2Bounds/);
  });

  it("'stage1': the stage-2 record's lo/hi are stage 1's, rewards beyond them clamped", async () => {
    const config = configWith('stage1');
    const stage1 = await selectParetoHq(original, prefs, { k: 10, paretoPoolMin: 40, ...quiet });
    expect(stage2SelectionBounds(config, stage1)).toEqual({ lo: stage1.lo, hi: stage1.hi });
    const record = await selectStage2(generated, prefs, stage1, config);
    expect(record.lo).toEqual(stage1.lo);
    expect(record.hi).toEqual(stage1.hi);
    expect(record.options.bounds).toEqual({ lo: stage1.lo, hi: stage1.hi });
    expect(record.stage1Bounds).toEqual({ lo: stage1.lo, hi: stage1.hi });
    expect(record.poolBounds).toEqual(minMax(generated));
    // the selection is selectParetoHq's under those fixed bounds, and the record round-trips
    const want = await selectParetoHq(generated, prefs, { k: 5, paretoPoolMin: 40, bounds: { lo: stage1.lo, hi: stage1.hi }, ...quiet });
    expect(record.selections).toEqual(want.selections);
    expect(parseSelectionRecord(JSON.parse(JSON.stringify(record)))).toEqual(record);
    // the generated pool does reach beyond stage 1's bounds: the clamp is at work
    const own = minMax(generated);
    for (let j = 0; j < 2; j++) expect(own.lo[j] < stage1.lo[j] && own.hi[j] > stage1.hi[j]).toBe(true);
  });

  it("'recompute': the stage-2 record's lo/hi are the generated pool's, stage 1's logged beside them", async () => {
    const config = configWith('recompute');
    const stage1 = await selectParetoHq(original, prefs, { k: 10, paretoPoolMin: 40, ...quiet });
    expect(stage2SelectionBounds(config, stage1)).toBe('minmax');
    const record = await selectStage2(generated, prefs, stage1, config);
    expect({ lo: record.lo, hi: record.hi }).toEqual(minMax(generated));
    expect(record.options.bounds).toBe('minmax');
    expect(record.stage1Bounds).toEqual({ lo: stage1.lo, hi: stage1.hi });
    expect(record.poolBounds).toEqual(minMax(generated));
    const want = await selectParetoHq(generated, prefs, { k: 5, paretoPoolMin: 40, ...quiet });
    expect(record.selections).toEqual(want.selections);
  });

  it('stage 1 over other objectives is an error, not bounds paired with the wrong rewards', async () => {
    const stage1 = await selectParetoHq(original, prefs, { k: 10, paretoPoolMin: 40, ...quiet });
    const swapped = { ...stage1, objectives: ['fidelity', 'positivity'] };
    await expect(selectStage2(generated, prefs, swapped, configWith('stage1'))).rejects.toThrow(
      'stage 1 selected over objectives (fidelity, positivity) but the stage-2 pool has (positivity, fidelity)',
    );
  });
});
