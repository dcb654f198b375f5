// The packed tarball installs into a fresh project and loads there WITHOUT compiling:
// npm run prebuild (in a staging copy, so the checkout is untouched) -> npm pack ->
// npm install <tarball> with MOALIGN_PREBUILT_ONLY=1 -> import and compute, and doctor.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLibtorch, libtorchTag, type Libtorch } from '../../ts/native/libtorch.js';
import { explainLoadFailure, probeBinary } from '../../ts/native/loader.js';
import type { DoctorReport } from '../../ts/system/doctor.js';
import { ok, sh, stagePackage } from '../helpers/stage.js';

const lt = resolveLibtorch();
const work = mkdtempSync(join(tmpdir(), 'moalign-pack-'));
const stage = join(work, 'stage');
const project = join(work, 'project');
const cache = join(work, 'cache');
const prebuiltName = `moalign.napi.glibc.${libtorchTag(lt)}.node`;
// The consumer finds libtorch only through LIBTORCH: no Python torch, nothing local.
const consumerEnv = { ...process.env, LIBTORCH: lt.root, MOALIGN_PYTHON: '/nonexistent/python3', MOALIGN_CACHE_DIR: cache, MOALIGN_NUM_THREADS: '1' };

let tarball = '';
let installLog = '';

beforeAll(() => {
  stagePackage(stage);
  ok(sh('npm', ['run', 'prebuild'], stage, { ...process.env, LIBTORCH: lt.root }), 'npm run prebuild');
  const packed = ok(sh('npm', ['pack', '--json', '--pack-destination', work], stage), 'npm pack');
  tarball = join(work, (JSON.parse(packed) as { filename: string }[])[0].filename);

  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const install = sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'], project, { ...consumerEnv, MOALIGN_PREBUILT_ONLY: '1' });
  installLog = install.stdout + install.stderr;
  ok(install, 'npm install <tarball>');
}, 600_000);

describe('packed tarball', () => {
  it('ships dist, the native sources and the prebuilt binary, and nothing of the checkout\'s build', () => {
    const list = ok(sh('tar', ['-tzf', tarball], work), 'tar').split('\n');
    expect(list).toContain(`package/prebuilds/${process.platform}-${process.arch}/${prebuiltName}`);
    expect(list).toContain('package/dist/index.js');
    expect(list).toContain('package/dist/cli/main.js');
    expect(list).toContain('package/CMakeLists.txt');
    expect(list).toContain('package/native/core/tensor.cpp');
    expect(list.some((f) => f.startsWith('package/build/') || f.startsWith('package/.libtorch/') || f.startsWith('package/test/'))).toBe(false);
  });

  it('the prebuilt binary holds no path of the machine it was built on', () => {
    const bytes = readFileSync(join(stage, 'prebuilds', `${process.platform}-${process.arch}`, prebuiltName));
    expect(bytes.includes(lt.root)).toBe(false);
    expect(bytes.includes(lt.libDir)).toBe(false);
    expect(bytes.includes(stage)).toBe(false);
  });

  it('installs with the prebuilt binary and compiles nothing', () => {
    expect(installLog).toMatch(/moalign: using the prebuilt binary .*\.node/);
    expect(installLog).not.toMatch(/building the native addon/);
    const installed = join(project, 'node_modules', 'moalign');
    expect(existsSync(join(installed, 'build'))).toBe(false);
    expect(readdirSync(join(installed, 'prebuilds', `${process.platform}-${process.arch}`))).toEqual([prebuiltName]);
  });

  it('loads and trains a step in the consumer project', () => {
    const code = `
      import { tensor, loadAddon } from 'moalign';
      const a = tensor(new Float64Array([1, 2, 3, 4]), [2, 2], { requiresGrad: true });
      const b = tensor(new Float64Array([5, 6, 7, 8]), [2, 2]);
      a.matmul(b).sum().backward();
      const { binary, libtorch } = loadAddon();
      console.log(JSON.stringify({ origin: binary.origin, path: binary.path, source: libtorch.source, grad: Array.from(a.grad().toArray()) }));`;
    const out = JSON.parse(ok(sh(process.execPath, ['--input-type=module', '-e', code], project, consumerEnv), 'import moalign'));
    expect(out.origin).toBe('prebuilt');
    expect(out.path).toContain(join('node_modules', 'moalign', 'prebuilds'));
    expect(out.source).toBe('LIBTORCH');
    expect(out.grad).toEqual([11, 15, 11, 15]); // d sum(AB)/dA = 1 B^T
  });

  it('npx moalign doctor reports the prebuilt binary', () => {
    const report = JSON.parse(ok(sh(join(project, 'node_modules', '.bin', 'moalign'), ['doctor', '--json'], project, consumerEnv), 'doctor')) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.addon?.origin).toBe('prebuilt');
    expect(report.libtorch).toMatchObject({ source: 'LIBTORCH', version: lt.version });
  });

  it('without any libtorch, doctor says what was tried and exits 1', () => {
    const { LIBTORCH: _, ...env } = consumerEnv;
    const run = sh(join(project, 'node_modules', '.bin', 'moalign'), ['doctor'], project, env);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/could not find libtorch[\s\S]*Python torch: \/nonexistent\/python3 could not run[\s\S]*project-local torch: .*does not exist/);
  });

  it('with a libtorch of another version, the error names both and the fix', () => {
    // A libtorch folder that claims 2.0.0: the real libraries, other headers.
    const fake = join(work, 'libtorch-2.0.0');
    mkdirSync(join(fake, 'include', 'torch', 'headeronly'), { recursive: true });
    symlinkSync(lt.libDir, join(fake, 'lib'));
    writeFileSync(join(fake, 'include', 'torch', 'headeronly', 'version.h'), '#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 0\n#define TORCH_VERSION_PATCH 0\n');
    const run = sh(join(project, 'node_modules', '.bin', 'moalign'), ['doctor'], project, { ...consumerEnv, LIBTORCH: fake });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`no native binary for libtorch 2\\.0\\.0 \\(torch-2_0_0-cpu-abi${lt.cxx11Abi}\\)[\\s\\S]*for: ${libtorchTag(lt)}[\\s\\S]*npm rebuild moalign`));
  });

  it('the prebuilt binary, with libtorch\'s libraries unavailable, fails its test-load as "libtorch missing"', () => {
    const nowhere: Libtorch = { ...lt, libDir: join(work, 'no-lib') };
    const probe = probeBinary(join(project, 'node_modules', 'moalign', 'prebuilds', `${process.platform}-${process.arch}`, prebuiltName), nowhere);
    expect(probe.ok).toBe(false);
    const err = explainLoadFailure(probe.error!, nowhere, 'moalign.node');
    expect(err.reason).toBe('libtorch-missing');
  });
});
