// Threads and device facts of the running engine, and the matmul throughput probe.
import type { MatmulBenchOptions, MatmulBenchResult, RuntimeInfo } from '../native/addon.js';
import { loadAddon, native } from '../native/loader.js';
import { withAbortSignal } from './abort.js';

/** Sets libtorch's intra-op thread count for all later native work (default: MOALIGN_NUM_THREADS, else all cores). */
export function setNumThreads(n: number): void {
  native().setNumThreads(n);
  loadAddon().threadsFrom = 'setNumThreads';
}

export function runtimeInfo(): RuntimeInfo {
  return native().runtimeInfo();
}

/**
 * GPU seconds this process has spent so far: the device-side span of every generation, scoring
 * and training call that ran on a CUDA device (idle gaps inside a call included). 0 when nothing
 * ran on a GPU. Take the difference around a piece of work for its GPU time.
 */
export function gpuSeconds(): number {
  return native().deviceSeconds();
}

/**
 * Starts measuring this process's CPU seconds (user + system, every thread) and GPU seconds;
 * the returned function gives both as spent since the start.
 */
export function usageClock(): () => { cpuSeconds: number; gpuSeconds: number } {
  const cpuAtStart = process.cpuUsage();
  const gpuAtStart = gpuSeconds();
  return () => {
    const used = process.cpuUsage(cpuAtStart);
    return { cpuSeconds: (used.user + used.system) / 1e6, gpuSeconds: gpuSeconds() - gpuAtStart };
  };
}

export interface LongRunOptions {
  /** Aborts the native work at its next check; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Called on the JS thread as work progresses. */
  onProgress?: (done: number, total: number) => void;
}

/** Times `iterations` (n, n) @ (n, n) products off the JS thread and reports GFLOP/s. */
export function benchmarkMatmul(options: MatmulBenchOptions & LongRunOptions = {}): Promise<MatmulBenchResult> {
  const { signal, onProgress, ...bench } = options;
  return withAbortSignal(signal, (token) => native().benchmarkMatmul(bench, token, onProgress));
}
