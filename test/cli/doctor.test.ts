import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/native/loader.js';
import { resolveLibtorch } from '../../ts/native/libtorch.js';
import type { DoctorReport } from '../../ts/system/doctor.js';

// The CLI from source, as `npx moalign` would run it from dist/.
const moalign = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const lt = resolveLibtorch();

describe('moalign CLI', () => {
  it('--version prints the package version', () => {
    const run = moalign(['--version']);
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists the doctor command', () => {
    const run = moalign(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/doctor \[options\] +check the installation/);
  });

  it('doctor prints each fact on its own line', () => {
    const run = moalign(['doctor'], { MOALIGN_NUM_THREADS: '2' });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toContain(`moalign ${pkg.version}`);
    expect(out).toContain(`libtorch ${lt.fullVersion} (${lt.cuda ? 'CUDA' : 'CPU'}`);
    expect(out).toContain(`from ${lt.source}: ${lt.root}`);
    expect(out).toMatch(new RegExp(`addon +(built from source|prebuilt binary): ${loadAddon().binary.path.replace(/[.]/g, '\\.')}`));
    expect(out).toMatch(/threads +2 intra-op \(set by MOALIGN_NUM_THREADS\)/);
    expect(out).toMatch(/cuda +(not available|available: .+)/);
    expect(out).toMatch(/check +ok: matmul \+ backward exact/);
    expect(out.trim().split('\n').pop()).toBe('status   ok');
  });

  it('doctor --json agrees with the resolver and the binary', () => {
    const run = moalign(['doctor', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.errors).toEqual([]);
    expect(report.package.version).toBe(pkg.version);
    expect(report.libtorch).toMatchObject({ version: lt.version, fullVersion: lt.fullVersion, source: lt.source, root: lt.root, cuda: lt.cuda, cxx11Abi: lt.cxx11Abi });
    expect(report.addon).toMatchObject({ origin: loadAddon().binary.origin, path: loadAddon().binary.path, build: { torchVersion: lt.version } });
    expect(report.threads).toMatchObject({ numThreads: 1, setBy: 'MOALIGN_NUM_THREADS' });
    expect(report.cuda?.available).toBe(loadAddon().addon.runtimeInfo().cudaAvailable);
  });

  it('doctor explains a missing libtorch and exits non-zero', () => {
    const run = moalign(['doctor', '--json'], { LIBTORCH: '/nonexistent/libtorch' });
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.errors[0]).toMatch(/could not find libtorch[\s\S]*LIBTORCH=\/nonexistent\/libtorch[\s\S]*Fix it with one of/);
  });

  it('--threads sets the thread count', () => {
    const run = moalign(['--threads', '2', 'doctor', '--json'], { MOALIGN_NUM_THREADS: '1' });
    expect(run.status, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as DoctorReport).threads?.numThreads).toBe(2);
  });

  it('a bad MOALIGN_NUM_THREADS is refused by name', () => {
    const run = moalign(['doctor'], { MOALIGN_NUM_THREADS: '0' });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/MOALIGN_NUM_THREADS must be a positive integer, got "0"/);
  });
});
