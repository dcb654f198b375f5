import { describe, expect, it } from 'vitest';
import { benchmarkMatmul, runtimeInfo, setNumThreads } from '../../ts/index.js';

// Enough work to run for seconds on one thread, so there is time to observe and abort it.
const LONG = { size: 256, iterations: 100_000 } as const;

describe('long native work runs off the JS thread', () => {
  it('lets timers fire while it runs, and can be aborted', async () => {
    const controller = new AbortController();
    let ticks = 0;
    let progressCalls = 0;
    const timer = setInterval(() => {
      ticks++;
      if (ticks === 5) controller.abort();
    }, 10);
    const started = Date.now();
    const run = benchmarkMatmul({ ...LONG, signal: controller.signal, onProgress: () => progressCalls++ });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(5); // the event loop kept turning
    expect(progressCalls).toBeGreaterThan(0); // progress reached JS while it ran
    expect(Date.now() - started).toBeLessThan(20_000); // stopped long before 100k products
  });

  it('rejects with the signal\'s own reason', async () => {
    const controller = new AbortController();
    const reason = new Error('user pressed stop');
    setTimeout(() => controller.abort(reason), 20);
    await expect(benchmarkMatmul({ ...LONG, signal: controller.signal })).rejects.toBe(reason);
  });

  it('an already aborted signal rejects without starting work', async () => {
    const controller = new AbortController();
    controller.abort();
    let progressed = false;
    await expect(benchmarkMatmul({ ...LONG, signal: controller.signal, onProgress: () => (progressed = true) })).rejects.toMatchObject({ name: 'AbortError' });
    expect(progressed).toBe(false);
  });

  it('resolves with a result, reporting every step as progress', async () => {
    const seen: number[] = [];
    const r = await benchmarkMatmul({ size: 32, iterations: 4, dtype: 'float64', onProgress: (done, total) => seen.push(done / total) });
    expect(r.iterations).toBe(4);
    expect(r.gflops).toBeGreaterThan(0);
    expect(r.device).toBe('cpu');
    expect(seen).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('worker threads use the thread count set from JS (not every core)', async () => {
    expect(runtimeInfo().numThreads).toBe(1); // MOALIGN_NUM_THREADS=1 in vitest.config.ts
    expect((await benchmarkMatmul({ size: 16, iterations: 1 })).threads).toBe(1);
    setNumThreads(2);
    try {
      expect((await benchmarkMatmul({ size: 16, iterations: 1 })).threads).toBe(2);
    } finally {
      setNumThreads(1);
    }
    expect(() => setNumThreads(0)).toThrow(/numThreads must be an integer >= 1, got 0/);
  });

  it('a throwing progress callback does not break the work', async () => {
    const r = await benchmarkMatmul({ size: 16, iterations: 3, onProgress: () => { throw new Error('callback bug'); } });
    expect(r.iterations).toBe(3);
  });
});

describe('errors from worker threads become rejected promises', () => {
  it('bad options are named', async () => {
    await expect(benchmarkMatmul({ size: 0 })).rejects.toThrow(/size must be an integer >= 1, got 0/);
    await expect(benchmarkMatmul({ dtype: 'int8' as never })).rejects.toThrow(/dtype must be one of float32, float64, int32, int64; got int8/);
    await expect(benchmarkMatmul({ dtype: 'int32' as never, size: 4, iterations: 1 })).rejects.toThrow(/benchmark dtype must be float32 or float64, got int32/);
  });

  it('a libtorch error raised inside the worker keeps its message', async () => {
    await expect(benchmarkMatmul({ device: 'tpu:0', size: 4, iterations: 1 })).rejects.toMatchObject({
      code: 'ERR_MOALIGN_TORCH',
      message: expect.stringMatching(/device/i),
    });
  });

  it.skipIf(runtimeInfo().cudaAvailable)('asking for CUDA on a CPU-only libtorch rejects (skipped where CUDA exists)', async () => {
    await expect(benchmarkMatmul({ device: 'cuda', size: 4, iterations: 1 })).rejects.toMatchObject({ code: 'ERR_MOALIGN_TORCH', message: expect.stringMatching(/CUDA/) });
  });
});
