import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveLibtorch, type Libtorch } from '../../ts/native/libtorch.js';
import { checkBuildRecord, defaultNumThreads, explainLoadFailure, loadAddon, mismatch, probeBinary } from '../../ts/native/loader.js';
import { chooseBinary, findPrebuilt, type BuildRecord } from '../../ts/native/prebuilds.js';

const lt = resolveLibtorch();
const other: Libtorch = { ...lt, version: '2.12.0', fullVersion: '2.12.0+cpu' };

function fakePackage(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'moalign-pkg-'));
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), '');
  return root;
}

describe('choosing the binary', () => {
  it('picks the prebuilt binary whose libtorch tag fits, for this libc', () => {
    const root = fakePackage([
      'moalign.napi.glibc.torch-2_12_0-cpu-abi1.node',
      'moalign.napi.glibc.torch-2_13_0-cpu-abi1.node',
      'moalign.napi.musl.torch-2_13_0-cpu-abi1.node',
      'moalign.napi.glibc.torch-2_13_0-cuda-abi1.node',
    ]);
    const found = findPrebuilt(root, { ...lt, version: '2.13.0', cuda: false, cxx11Abi: 1 });
    expect(found.match).toMatch(/moalign\.napi\.glibc\.torch-2_13_0-cpu-abi1\.node$/);
    expect(found.others.sort()).toEqual(['torch-2_12_0-cpu-abi1', 'torch-2_13_0-cuda-abi1']);
  });

  it('with a prebuilt binary only for another libtorch, the error names both versions and the fix', () => {
    const root = fakePackage(['moalign.napi.glibc.torch-2_12_0-cpu-abi1.node']);
    const want = { ...lt, version: '2.13.0', fullVersion: '2.13.0+cpu', cuda: false, cxx11Abi: 1 as const };
    expect(() => chooseBinary(root, want)).toThrow(/no native binary for libtorch 2\.13\.0\+cpu \(torch-2_13_0-cpu-abi1\)[\s\S]*for: torch-2_12_0-cpu-abi1[\s\S]*npm rebuild moalign/);
  });

  it('prefers a source build in build/Release', () => {
    const root = fakePackage(['moalign.napi.glibc.torch-2_13_0-cpu-abi1.node']);
    mkdirSync(join(root, 'build', 'Release'), { recursive: true });
    writeFileSync(join(root, 'build', 'Release', 'moalign.node'), '');
    expect(chooseBinary(root, lt)).toEqual({ path: join(root, 'build', 'Release', 'moalign.node'), origin: 'source' });
  });
});

describe('mismatches are caught before loading', () => {
  const info = loadAddon().buildInfo;
  it('the loaded binary fits the resolved libtorch', () => {
    expect(info.torchVersion).toBe(lt.version);
    expect(info.cxx11Abi).toBe(lt.cxx11Abi);
    expect(mismatch(info, lt, 'x.node')).toBeNull();
  });
  it('another libtorch version', () => {
    const err = mismatch(info, other, 'x.node');
    expect(err?.reason).toBe('version-mismatch');
    expect(err?.message).toMatch(new RegExp(`built against libtorch ${lt.version}, but the libtorch found .* is 2\\.12\\.0\\+cpu`));
  });
  it('another C++ ABI', () => {
    const err = mismatch(info, { ...lt, cxx11Abi: lt.cxx11Abi === 1 ? 0 : 1 }, 'x.node');
    expect(err?.reason).toBe('abi-mismatch');
    expect(err?.message).toMatch(/_GLIBCXX_USE_CXX11_ABI=/);
  });
  it('a source build recorded against another libtorch', () => {
    const record: BuildRecord = { torch: { ...other }, builder: 'cmake-js', portable: false, seconds: 1, date: '' };
    expect(checkBuildRecord(record, lt, 'x.node')?.message).toMatch(/built against libtorch 2\.12\.0\+cpu .* but the libtorch found now/);
    expect(checkBuildRecord({ ...record, torch: { ...lt } }, lt, 'x.node')).toBeNull();
  });
});

describe('load failures are explained', () => {
  it.each([
    ['libcudart.so.12: cannot open shared object file: No such file or directory', 'cuda-libraries-missing', /CUDA build/],
    ['libtorch_cpu.so: cannot open shared object file: No such file or directory', 'libtorch-missing', /set LIBTORCH/],
    ['/x/moalign.node: undefined symbol: _ZN3c105ErrorC2E', 'version-mismatch', /another libtorch/],
    ['the test-load process crashed (SIGSEGV)', 'crashed', /this one is unharmed/],
  ] as const)('%s -> %s', (message, reason, fix) => {
    const err = explainLoadFailure(message, lt, '/x/moalign.node');
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(fix);
    expect(err.message).toContain(message);
  });

  it('a corrupt binary fails its test-load in a child process; this process carries on', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'moalign-bad-')), 'moalign.node');
    writeFileSync(file, randomBytes(4096));
    const probe = probeBinary(file, lt);
    expect(probe.ok).toBe(false);
    expect(probe.error).toMatch(/invalid ELF header|file too short|not a dynamic/);
  });

  it('the real binary passes its test-load and reports what it was built against', () => {
    const probe = probeBinary(loadAddon().binary.path, lt);
    expect(probe).toMatchObject({ ok: true, buildInfo: { torchVersion: lt.version, cxx11Abi: lt.cxx11Abi } });
  });
});

describe('thread count is explicit', () => {
  it('MOALIGN_NUM_THREADS, else the cores this process may use', () => {
    expect(defaultNumThreads({ MOALIGN_NUM_THREADS: '3' })).toEqual({ threads: 3, from: 'MOALIGN_NUM_THREADS' });
    expect(defaultNumThreads({}).from).toBe('cores');
    expect(() => defaultNumThreads({ MOALIGN_NUM_THREADS: 'many' })).toThrow(/MOALIGN_NUM_THREADS must be a positive integer, got "many"/);
    expect(loadAddon().addon.runtimeInfo().numThreads).toBe(1);
  });
});

describe('context-aware addon', () => {
  it('loads and computes in a worker thread beside the main thread', async () => {
    const { Worker } = await import('node:worker_threads');
    const { binary } = loadAddon(); // libtorch is preloaded in this process already
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = require(workerData);
      const t = new m.Tensor(new Float32Array([1, 2, 3]), [3]);
      parentPort.postMessage(Array.from(t.mul(t).sum().toArray()));`;
    const result = await new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: binary.path });
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(result).toEqual([14]);
  });
});
