// Loads moalign.node: resolve libtorch, choose the binary (source build or prebuilt),
// test-load it in a child process (cached), preload libtorch's libraries so a binary with no
// RUNPATH finds them, then require it and set the thread count explicitly.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { cacheDir, packageRoot } from '../paths.js';
import { writeTextAtomicSync } from '../util/atomic-file.js';
import type { BuildInfo, NativeAddon } from './addon.js';
import { type Libtorch, libtorchLibraries, libtorchTag, resolveLibtorch } from './libtorch.js';
import { type BuildRecord, type Candidate, chooseBinary, readBuildRecord } from './prebuilds.js';

const require = createRequire(import.meta.url);
// Shared with the child-process probe, which runs as plain CommonJS.
const { preloadLibraries } = require(join(packageRoot, 'scripts', 'preload-libtorch.cjs')) as { preloadLibraries(paths: string[]): void };

export type LoadFailureCause = 'libtorch-missing' | 'version-mismatch' | 'abi-mismatch' | 'cuda-libraries-missing' | 'crashed' | 'other';

/** The binary could not be loaded; `reason` classifies why and the message says how to fix it. */
export class AddonLoadError extends Error {
  readonly code = 'ERR_MOALIGN_ADDON_LOAD';
  constructor(readonly reason: LoadFailureCause, message: string, readonly binary: string) {
    super(message);
    this.name = 'AddonLoadError';
  }
}

export interface ProbeResult {
  ok: boolean;
  buildInfo?: BuildInfo;
  error?: string;
}

/** Classifies a loader message and names the fix. */
export function explainLoadFailure(message: string, lt: Libtorch, binary: string): AddonLoadError {
  const lines = [`moalign could not load its native binary ${binary}:`, `  ${message.split('\n')[0]}`];
  let cause: LoadFailureCause = 'other';
  if (/lib(cudart|cublas|cudnn|nvrtc|cuda|nccl|cusparse|cufft|curand|nvJitLink)[\w.-]*\.so/.test(message)) {
    cause = 'cuda-libraries-missing';
    lines.push(`libtorch ${lt.fullVersion} at ${lt.root} is a CUDA build and the CUDA libraries it needs are missing.`,
      'Fix: install the CUDA runtime it was built for (pip installs it with torch), or use a CPU libtorch (LIBTORCH=... or the default CPU wheel).');
  } else if (/lib(torch|torch_cpu|c10)\.so: cannot open/.test(message)) {
    cause = 'libtorch-missing';
    lines.push(`libtorch's libraries were not found (looked in ${lt.libDir}).`, 'Fix: set LIBTORCH to a libtorch folder, or reinstall moalign so that its install step installs one.');
  } else if (/crashed/.test(message)) {
    cause = 'crashed';
    lines.push('Loading it crashed a test process (this one is unharmed): the binary or libtorch is broken.', 'Fix: rebuild from source (`npm rebuild moalign`) and check libtorch with `npx moalign doctor`.');
  } else if (/undefined symbol/.test(message)) {
    cause = 'version-mismatch';
    lines.push(`The binary was built against another libtorch than ${lt.fullVersion} (${libtorchTag(lt)}).`, 'Fix: rebuild from source (`npm rebuild moalign`, or `npm run build:native` in a checkout).');
  } else {
    lines.push('Fix: rebuild from source (`npm rebuild moalign`), and run `npx moalign doctor` for details.');
  }
  return new AddonLoadError(cause, lines.join('\n'), binary);
}

/** Test-loads `binary` against `lt` in a child process; never throws, never crashes this process. */
export function probeBinary(binary: string, lt: Libtorch): ProbeResult {
  const script = join(packageRoot, 'scripts', 'probe-addon.cjs');
  const run = spawnSync(process.execPath, [script, binary, ...libtorchLibraries(lt)], { encoding: 'utf8', timeout: 120_000 });
  if (run.error) return { ok: false, error: `the test-load process failed to run: ${run.error.message}` };
  if (run.signal) return { ok: false, error: `the test-load process crashed (${run.signal})` };
  const line = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    return { ok: false, error: `the test-load process exited with ${run.status}: ${run.stderr.trim().split('\n').slice(-2).join(' ')}` };
  }
}

/** Checks what the binary says it was built against; null when it fits `lt`. */
export function mismatch(info: BuildInfo, lt: Libtorch, binary: string): AddonLoadError | null {
  if (info.torchVersion !== lt.version) {
    return new AddonLoadError('version-mismatch',
      `${binary} was built against libtorch ${info.torchVersion}, but the libtorch found (${lt.source}: ${lt.root}) is ${lt.fullVersion}.\n` +
      'Fix: rebuild from source (`npm rebuild moalign`, or `npm run build:native`), or point LIBTORCH at libtorch ' + info.torchVersion + '.', binary);
  }
  if (info.cxx11Abi !== lt.cxx11Abi) {
    return new AddonLoadError('abi-mismatch',
      `${binary} uses C++ ABI _GLIBCXX_USE_CXX11_ABI=${info.cxx11Abi}, libtorch at ${lt.root} uses ${lt.cxx11Abi}.\nFix: rebuild from source against this libtorch (\`npm rebuild moalign\`).`, binary);
  }
  return null;
}

/** A source build records its libtorch; loading it against another one would fail obscurely. */
export function checkBuildRecord(record: BuildRecord | null, lt: Libtorch, binary: string): AddonLoadError | null {
  if (!record || libtorchTag(record.torch) === libtorchTag(lt)) return null;
  return new AddonLoadError('version-mismatch',
    `${binary} was built against libtorch ${record.torch.fullVersion} (${libtorchTag(record.torch)}) at ${record.torch.root}, ` +
    `but the libtorch found now (${lt.source}) is ${lt.fullVersion} (${libtorchTag(lt)}) at ${lt.root}.\n` +
    'Fix: rebuild (`npm rebuild moalign`, or `npm run build:native` in a checkout), or set LIBTORCH to the libtorch it was built with.', binary);
}

/**
 * Test-loads `binary` against `lt` in a child process and checks what it was built against:
 * null when it is safe to load here, else the explained failure. `cached` reuses an earlier
 * success for the same binary and libtorch.
 */
export function testLoad(binary: string, lt: Libtorch, { cached = false }: { cached?: boolean } = {}): AddonLoadError | null {
  const probe = cached ? probeCached(binary, lt) : probeBinary(binary, lt);
  if (!probe.ok) return explainLoadFailure(probe.error ?? 'unknown error', lt, binary);
  return probe.buildInfo ? mismatch(probe.buildInfo, lt, binary) : null;
}

/** A cached probe: keyed by the binary (path, size, mtime) and the libtorch it is loaded with. */
function probeCached(binary: string, lt: Libtorch): ProbeResult {
  const st = statSync(binary);
  const key = createHash('sha256').update(JSON.stringify([binary, st.size, st.mtimeMs, lt.root, lt.fullVersion, process.version])).digest('hex').slice(0, 24);
  const file = join(cacheDir(), 'load-checks', `${key}.json`);
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProbeResult;
    } catch {
      // a torn cache entry: probe again
    }
  }
  const result = probeBinary(binary, lt);
  if (result.ok) {
    try {
      mkdirSync(join(cacheDir(), 'load-checks'), { recursive: true });
      writeTextAtomicSync(file, JSON.stringify(result));
    } catch {
      // an unwritable cache only costs a probe next time
    }
  }
  return result;
}

/** Threads libtorch uses: MOALIGN_NUM_THREADS, else every core this process may use. */
export function defaultNumThreads(env: NodeJS.ProcessEnv = process.env): { threads: number; from: 'MOALIGN_NUM_THREADS' | 'cores' } {
  const raw = env.MOALIGN_NUM_THREADS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`MOALIGN_NUM_THREADS must be a positive integer, got "${raw}"`);
    return { threads: n, from: 'MOALIGN_NUM_THREADS' };
  }
  return { threads: availableParallelism(), from: 'cores' };
}

export interface LoadedAddon {
  addon: NativeAddon;
  binary: Candidate;
  libtorch: Libtorch;
  buildInfo: BuildInfo;
  threadsFrom: 'MOALIGN_NUM_THREADS' | 'cores' | 'setNumThreads';
}

let loaded: LoadedAddon | null = null;

/** The addon, loaded once per process (per worker thread: the addon is context-aware). */
export function loadAddon(): LoadedAddon {
  if (loaded) return loaded;
  const lt = resolveLibtorch();
  const binary = chooseBinary(packageRoot, lt);
  if (binary.origin === 'source') {
    const stale = checkBuildRecord(readBuildRecord(packageRoot), lt, binary.path);
    if (stale) throw stale;
  }
  const problem = testLoad(binary.path, lt, { cached: true });
  if (problem) throw problem;
  preloadLibraries(libtorchLibraries(lt));
  let addon: NativeAddon;
  try {
    addon = require(binary.path) as NativeAddon;
  } catch (err) {
    throw explainLoadFailure((err as Error).message, lt, binary.path);
  }
  const proto = addon.Tensor.prototype as { dispose(): void; [Symbol.dispose]?: () => void };
  proto[Symbol.dispose] = function (this: { dispose(): void }) {
    this.dispose();
  };
  const { threads, from } = defaultNumThreads();
  addon.setNumThreads(threads);
  loaded = { addon, binary, libtorch: lt, buildInfo: addon.buildInfo(), threadsFrom: from };
  return loaded;
}

/** Shorthand for loadAddon().addon. */
export function native(): NativeAddon {
  return loadAddon().addon;
}
