// `moalign doctor`: what this installation is made of, and whether it works.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { type Libtorch, resolveLibtorch } from '../native/libtorch.js';
import { loadAddon } from '../native/loader.js';
import type { BuildInfo, CudaDevice } from '../native/addon.js';
import { tensor } from '../engine/tensor.js';

export interface DoctorReport {
  ok: boolean;
  package: { name: string; version: string; root: string };
  node: { version: string; platform: string; arch: string };
  libtorch: (Omit<Libtorch, 'libDir' | 'cmakeDir'>) | null;
  addon: { path: string; origin: 'prebuilt' | 'source'; build: BuildInfo } | null;
  threads: { cpuCores: number; numThreads: number; numInteropThreads: number; setBy: string } | null;
  cuda: { available: boolean; compiled: boolean; devices: CudaDevice[] } | null;
  /** A 2x2 matmul and its backward, checked against the exact answer. */
  selfTest: { ok: boolean; detail: string } | null;
  errors: string[];
}

function packageInfo() {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version, root: packageRoot };
}

/** d/dA sum(A @ B) = 1 B^T and d/dB = A^T 1, for small integers exact in float64. */
function selfTest(): { ok: boolean; detail: string } {
  using a = tensor(new Float64Array([1, 2, 3, 4]), [2, 2], { requiresGrad: true });
  using b = tensor(new Float64Array([5, 6, 7, 8]), [2, 2], { requiresGrad: true });
  using c = a.matmul(b);
  using s = c.sum();
  s.backward();
  const got = [...c.toArray(), ...a.grad()!.toArray(), ...b.grad()!.toArray()].map(Number);
  const want = [19, 22, 43, 50, 11, 15, 11, 15, 4, 4, 6, 6];
  const ok = got.every((v, i) => v === want[i]);
  return { ok, detail: ok ? 'matmul + backward exact' : `got ${got.join(',')}, want ${want.join(',')}` };
}

export function doctor(): DoctorReport {
  const report: DoctorReport = {
    ok: false,
    package: packageInfo(),
    node: { version: process.version, platform: process.platform, arch: process.arch },
    libtorch: null,
    addon: null,
    threads: null,
    cuda: null,
    selfTest: null,
    errors: [],
  };
  try {
    const { libDir: _l, cmakeDir: _c, ...lt } = resolveLibtorch();
    report.libtorch = lt;
    const loaded = loadAddon();
    const rt = loaded.addon.runtimeInfo();
    report.addon = { path: loaded.binary.path, origin: loaded.binary.origin, build: loaded.buildInfo };
    report.threads = { cpuCores: availableParallelism(), numThreads: rt.numThreads, numInteropThreads: rt.numInteropThreads, setBy: loaded.threadsFrom };
    report.cuda = { available: rt.cudaAvailable, compiled: loaded.buildInfo.cudaCompiled, devices: rt.cudaDevices };
    report.selfTest = selfTest();
    report.ok = report.selfTest.ok;
  } catch (err) {
    report.errors.push((err as Error).message);
  }
  return report;
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [`moalign ${r.package.version} (${r.package.root})`, `node     ${r.node.version} ${r.node.platform}-${r.node.arch}`];
  if (r.libtorch) {
    const lt = r.libtorch;
    lines.push(`libtorch ${lt.fullVersion} (${lt.cuda ? `CUDA ${lt.cudaVersion ?? ''}`.trim() : 'CPU'}, C++11 ABI ${lt.cxx11Abi}) from ${lt.source}: ${lt.root}`);
  }
  if (r.addon) lines.push(`addon    ${r.addon.origin === 'prebuilt' ? 'prebuilt binary' : 'built from source'}: ${r.addon.path} (libtorch ${r.addon.build.torchVersion}, ${r.addon.build.compiler})`);
  if (r.threads) lines.push(`threads  ${r.threads.numThreads} intra-op (set by ${r.threads.setBy}), ${r.threads.numInteropThreads} inter-op, ${r.threads.cpuCores} CPU cores`);
  if (r.cuda) {
    const devs = r.cuda.devices.map((d) => `${d.name} (${(d.totalMemory / 2 ** 30).toFixed(1)} GiB)`).join(', ');
    lines.push(`cuda     ${r.cuda.available ? `available: ${devs}` : 'not available'}${r.cuda.compiled ? '' : ' (CPU-only build)'}`);
  }
  if (r.selfTest) lines.push(`check    ${r.selfTest.ok ? 'ok' : 'FAILED'}: ${r.selfTest.detail}`);
  for (const e of r.errors) lines.push(`error    ${e.replace(/\n/g, '\n         ')}`);
  lines.push(r.ok ? 'status   ok' : 'status   NOT OK');
  return lines.join('\n');
}
