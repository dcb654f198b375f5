// hypervolumeBatch(): one native call over many ragged fronts must give exactly what hypervolume()
// gives front by front, for any input layout, ref layout and thread count.
import { afterAll, describe, expect, it } from 'vitest';
import { runtimeInfo, setNumThreads } from '../../ts/engine/runtime.js';
import { hypervolume, hypervolumeBatch, type FrontSets } from '../../ts/moo/index.js';
import { hvInclusionExclusion, randomRows, toMax, type Rows } from '../helpers/moo-reference.js';
import { rng } from '../helpers/reference.js';

interface Batch { fronts: Rows[]; m: number; csr: FrontSets }

/** B ragged fronts (some empty, some with integer ties, some partly below the ref) in both layouts. */
function makeBatch(B: number, m: number, maxN: number, seed: number): Batch {
  const next = rng(seed);
  const fronts: Rows[] = [];
  for (let b = 0; b < B; b++) {
    const n = b % 7 === 3 ? 0 : Math.floor(next() * (maxN + 1));
    const pts = randomRows(n, m, next, b % 5 === 1 ? 4 : 0);
    if (n > 2 && b % 4 === 0) pts.push([...pts[0]]);
    fronts.push(pts);
  }
  const offsets = new Int32Array(B + 1);
  fronts.forEach((f, b) => (offsets[b + 1] = offsets[b] + f.length));
  return { fronts, m, csr: { points: Float64Array.from(fronts.flat(2)), offsets, m } };
}

/** hypervolume() front by front: the values the batch must reproduce bit for bit. */
function oneByOne(fronts: Rows[], refs: (b: number) => number[], minimise: boolean | boolean[] = false) {
  const hv = new Float64Array(fronts.length);
  const dropped = new Int32Array(fronts.length);
  fronts.forEach((f, b) => {
    const r = hypervolume({ data: Float64Array.from(f.flat()), m: refs(b).length }, { ref: refs(b), minimise, onOutside: 'ignore' });
    hv[b] = r.hypervolume;
    dropped[b] = r.dropped;
  });
  return { hv, dropped };
}

function expectIdentical(got: Float64Array, want: Float64Array, what: string) {
  expect(got).toBeInstanceOf(Float64Array);
  expect(got).toHaveLength(want.length);
  for (let b = 0; b < want.length; b++) expect(Object.is(got[b], want[b]), `${what}: front ${b}: got ${got[b]}, want ${want[b]}`).toBe(true);
}

const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Sync throws and rejections alike become a rejected promise. */
const attempt = <T>(fn: () => Promise<T>) => (async () => fn())();

describe('hypervolumeBatch = hypervolume per front, exactly', () => {
  for (let m = 2; m <= 6; m++) {
    it(`m = ${m}: CSR with a shared ref; also number[] offsets and array-of-fronts input`, async () => {
      const { fronts, csr } = makeBatch(60, m, m <= 4 ? 40 : 20, 800 + m);
      const ref = Array.from({ length: m }, (_, i) => 0.05 * i);
      const want = oneByOne(fronts, () => ref);
      const got = await hypervolumeBatch(csr, { ref, onOutside: 'ignore' });
      expectIdentical(got.hypervolume, want.hv, 'CSR');
      expect(got.dropped).toBeInstanceOf(Int32Array);
      expect(Array.from(got.dropped)).toEqual(Array.from(want.dropped));
      const plainOffsets = await hypervolumeBatch({ ...csr, offsets: Array.from(csr.offsets) }, { ref: Float64Array.from(ref), onOutside: 'ignore' });
      expectIdentical(plainOffsets.hypervolume, want.hv, 'number[] offsets');
      const asRows = await hypervolumeBatch(fronts, { ref, onOutside: 'ignore' });
      expectIdentical(asRows.hypervolume, want.hv, 'array of row arrays');
      expect(Array.from(asRows.dropped)).toEqual(Array.from(want.dropped));
      const asMatrices = await hypervolumeBatch(fronts.map((f) => ({ data: Float64Array.from(f.flat()), m })), { ref, onOutside: 'ignore' });
      expectIdentical(asMatrices.hypervolume, want.hv, 'array of matrices');
    });

    it(`m = ${m}: per-front refs, as rows and flat`, async () => {
      const { fronts, csr } = makeBatch(40, m, m <= 4 ? 30 : 15, 900 + m);
      const next = rng(950 + m);
      const refRows = fronts.map(() => Array.from({ length: m }, () => next() * 0.5 - 0.1));
      const want = oneByOne(fronts, (b) => refRows[b]);
      const rows = await hypervolumeBatch(csr, { ref: refRows, onOutside: 'ignore' });
      expectIdentical(rows.hypervolume, want.hv, 'ref rows');
      expect(Array.from(rows.dropped)).toEqual(Array.from(want.dropped));
      const flatRefs = await hypervolumeBatch(csr, { ref: Float64Array.from(refRows.flat()), onOutside: 'ignore' });
      expectIdentical(flatRefs.hypervolume, want.hv, 'flat refs');
      const flatArray = await hypervolumeBatch(fronts, { ref: refRows.flat(), onOutside: 'ignore' });
      expectIdentical(flatArray.hypervolume, want.hv, 'flat number[] refs, array of fronts');
    });
  }

  it('the values are right, not only consistent: small fronts against inclusion–exclusion', async () => {
    const { fronts, csr } = makeBatch(50, 4, 11, 990); // ≤ 11 rows + 1 duplicate
    const ref = [0.1, 0, 0.1, 0];
    const got = await hypervolumeBatch(csr, { ref, onOutside: 'ignore' });
    fronts.forEach((f, b) => {
      const want = hvInclusionExclusion(f, ref);
      expect(Math.abs(got.hypervolume[b] - want), `front ${b}`).toBeLessThanOrEqual(1e-12 * want);
    });
  });

  it('minimise, shared and per objective', async () => {
    const { fronts, csr } = makeBatch(30, 3, 20, 1000);
    for (const minimise of [true, [true, false, true]]) {
      const ref = (minimise === true ? [1, 1, 1] : [1, 0, 1]) as number[];
      const want = oneByOne(fronts, () => ref, minimise);
      const got = await hypervolumeBatch(csr, { ref, minimise, onOutside: 'ignore' });
      expectIdentical(got.hypervolume, want.hv, `minimise ${JSON.stringify(minimise)}`);
      fronts.forEach((f, b) => {
        const max = toMax(f, ref, minimise);
        if (f.length <= 12) expect(Math.abs(got.hypervolume[b] - hvInclusionExclusion(max.points, max.ref))).toBeLessThanOrEqual(1e-12 * got.hypervolume[b]);
      });
    }
  });

  it('empty batches and all-empty fronts', async () => {
    const none = await hypervolumeBatch({ points: new Float64Array(0), offsets: new Int32Array([0]), m: 2 }, { ref: [0, 0] });
    expect(none.hypervolume).toHaveLength(0);
    expect(none.dropped).toHaveLength(0);
    const empties = await hypervolumeBatch({ points: new Float64Array(0), offsets: new Int32Array([0, 0, 0]), m: 3 }, { ref: [0, 0, 0], onOutside: 'ignore' });
    expect(Array.from(empties.hypervolume)).toEqual([0, 0]);
    expect(Array.from(empties.dropped)).toEqual([0, 0]);
  });
});

describe('threads', () => {
  afterAll(() => setNumThreads(1));

  it('results are bit-identical for 1, 2 and 3 threads (~200 fronts)', async () => {
    for (const m of [2, 3, 4, 5]) {
      const { fronts, csr } = makeBatch(200, m, m <= 3 ? 100 : m === 4 ? 60 : 25, 1100 + m);
      const ref = new Array(m).fill(0);
      const runs: Float64Array[] = [];
      try {
        for (const threads of [1, 2, 3]) {
          setNumThreads(threads);
          runs.push((await hypervolumeBatch(csr, { ref, onOutside: 'ignore' })).hypervolume);
        }
      } finally {
        setNumThreads(1);
      }
      expect(bytes(runs[1]).equals(bytes(runs[0])), `m = ${m}: 2 threads`).toBe(true);
      expect(bytes(runs[2]).equals(bytes(runs[0])), `m = ${m}: 3 threads`).toBe(true);
      expectIdentical(runs[0], oneByOne(fronts, () => ref).hv, `m = ${m}`);
    }
    expect(runtimeInfo().numThreads).toBe(1);
  });
});

describe('long-run plumbing', () => {
  const { csr } = makeBatch(100, 3, 50, 1200);

  it('an already aborted signal rejects with an AbortError', async () => {
    const controller = new AbortController();
    controller.abort();
    let progressed = false;
    await expect(attempt(() => hypervolumeBatch(csr, { ref: [0, 0, 0], signal: controller.signal, onProgress: () => (progressed = true) }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(progressed).toBe(false);
  });

  it('onProgress reports progress up to done = total', async () => {
    const seen: [number, number][] = [];
    const signal = new AbortController().signal; // a live signal that never aborts
    const got = await hypervolumeBatch(csr, { ref: [0, 0, 0], onOutside: 'ignore', signal, onProgress: (done, total) => seen.push([done, total]) });
    expect(got.hypervolume).toHaveLength(100);
    expect(seen.length).toBeGreaterThan(0);
    for (let k = 1; k < seen.length; k++) expect(seen[k][0]).toBeGreaterThanOrEqual(seen[k - 1][0]);
    for (const [done, total] of seen) expect(done).toBeLessThanOrEqual(total);
    const [lastDone, lastTotal] = seen.at(-1)!;
    expect(lastDone).toBe(lastTotal);
  });
});

describe("device: 'cuda'", () => {
  const cuda = runtimeInfo().cudaAvailable;
  if (!cuda) {
    it('without CUDA, asking for it is a clear error that names CUDA', async () => {
      console.log("hypervolumeBatch device 'cuda': this libtorch/machine has no CUDA; checking only the error");
      const { csr } = makeBatch(5, 2, 10, 1300);
      await expect(attempt(() => hypervolumeBatch(csr, { ref: [0, 0], device: 'cuda', onOutside: 'ignore' }))).rejects.toThrow(/CUDA/i);
    });
    return;
  }
  for (const m of [2, 3]) {
    it(`m = ${m}: the GPU tensor path matches the CPU within 1e-12 relative`, async () => {
      const { csr } = makeBatch(300, m, 80, 1400 + m);
      const next = rng(1450 + m);
      const refs = Array.from({ length: 300 }, () => Array.from({ length: m }, () => next() * 0.3 - 0.1));
      const cpu = await hypervolumeBatch(csr, { ref: refs, onOutside: 'ignore' });
      const gpu = await hypervolumeBatch(csr, { ref: refs, onOutside: 'ignore', device: 'cuda' });
      for (let b = 0; b < 300; b++) {
        expect(Math.abs(gpu.hypervolume[b] - cpu.hypervolume[b]), `front ${b}`).toBeLessThanOrEqual(1e-12 * cpu.hypervolume[b]);
      }
      expect(Array.from(gpu.dropped)).toEqual(Array.from(cpu.dropped));
    });
  }
});

describe('bad input', () => {
  const points = Float64Array.from({ length: 20 }, (_, i) => (i % 7) + 1); // 10 rows, m = 2

  it('offsets that decrease, do not end at the row count, or are empty', async () => {
    await expect(attempt(() => hypervolumeBatch({ points, offsets: [0, 6, 3, 10], m: 2 }, { ref: [0, 0] }))).rejects.toThrow(/offset/i);
    await expect(attempt(() => hypervolumeBatch({ points, offsets: [0, 3, 8], m: 2 }, { ref: [0, 0] }))).rejects.toThrow(/offset/i);
    await expect(attempt(() => hypervolumeBatch({ points, offsets: [0, 3, 12], m: 2 }, { ref: [0, 0] }))).rejects.toThrow(/offset/i);
    await expect(attempt(() => hypervolumeBatch({ points, offsets: [], m: 2 }, { ref: [0, 0] }))).rejects.toThrow(/offset/i);
  });

  it('points whose length is not a multiple of m', async () => {
    await expect(attempt(() => hypervolumeBatch({ points: new Float64Array(7), offsets: [0, 3], m: 2 }, { ref: [0, 0] }))).rejects.toThrow();
  });

  it('a ref whose length is neither m nor B·m, or the wrong number of ref rows', async () => {
    await expect(attempt(() => hypervolumeBatch({ points, offsets: [0, 4, 10], m: 2 }, { ref: [0, 0, 0] }))).rejects.toThrow(/ref/i);
    await expect(attempt(() => hypervolumeBatch({ points, offsets: [0, 4, 10], m: 2 }, { ref: [[0, 0], [0, 0], [0, 0]] }))).rejects.toThrow(/ref/i);
    await expect(attempt(() => hypervolumeBatch({ points, offsets: [0, 4, 10], m: 2 }, { ref: [[0, 0], [0]] }))).rejects.toThrow(/ref/i);
  });

  it('NaN names the front and the point', async () => {
    const bad = Float64Array.from(points);
    bad[2 * 7 + 0] = NaN; // row 7 overall = row 1 of front 2 (offsets 0, 3, 6, 10)
    await expect(attempt(() => hypervolumeBatch({ points: bad, offsets: [0, 3, 6, 10], m: 2 }, { ref: [0, 0] }))).rejects.toThrow(/front 2[\s\S]*row (1|7), column 0/);
  });

  it('of several bad fronts, the first is named, whichever thread meets one first', async () => {
    // The batch's threads check each front as they take it and stop at the first bad one they
    // meet; the error must still name the lowest bad front. With 2 threads the fronts go out in
    // chunks of 2,000 / 32 = 62: front 310 opens a chunk and 309 closes the one before, so the
    // thread that takes 310 usually meets its bad front first.
    const fronts = 2000, size = 5;
    const flat = new Float64Array(fronts * size * 3).map((_, i) => 1 + ((i * 7919) % 101) / 101);
    for (const [front, row, column, value] of [[310, 0, 1, Infinity], [309, 4, 2, NaN], [1999, 0, 0, NaN]] as const) flat[((front * size + row) * 3) + column] = value;
    const offsets = Int32Array.from({ length: fronts + 1 }, (_, b) => b * size);
    for (let trial = 0; trial < 5; trial++) {
      await expect(attempt(() => hypervolumeBatch({ points: flat, offsets, m: 3 }, { ref: [0, 0, 0] }))).rejects.toThrow(/front 309[\s\S]*row 4, column 2 is NaN/);
    }
  });

  it("onOutside: 'error' rejects when a front has a point on or below its ref", async () => {
    await expect(attempt(() => hypervolumeBatch([[[1, 1]], [[1, 2], [0, 3]]], { ref: [0, 0], onOutside: 'error' }))).rejects.toThrow();
    const ok = await hypervolumeBatch([[[1, 1]], [[1, 2], [2, 1]]], { ref: [0, 0], onOutside: 'error' });
    expect(Array.from(ok.hypervolume)).toEqual([1, 3]);
  });
});
