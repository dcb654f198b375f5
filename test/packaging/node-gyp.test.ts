// The fallback build: binding.gyp compiles the same CPU sources with node-gyp, and the result
// loads and computes like the cmake-js build. Built in a staging copy; the checkout is untouched.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLibtorch } from '../../ts/native/libtorch.js';
import { probeBinary } from '../../ts/native/loader.js';
import type { BuildRecord } from '../../ts/native/prebuilds.js';
import { ok, sh, stagePackage } from '../helpers/stage.js';

const lt = resolveLibtorch();
const stage = join(mkdtempSync(join(tmpdir(), 'moalign-gyp-')), 'stage');

beforeAll(() => {
  stagePackage(stage);
  ok(sh('npm', ['run', 'build:gyp'], stage, { ...process.env, LIBTORCH: lt.root }), 'npm run build:gyp');
}, 600_000);

describe('node-gyp fallback build', () => {
  it('records that node-gyp built it, against the resolved libtorch', () => {
    const record = JSON.parse(readFileSync(join(stage, 'build', 'Release', 'moalign.build.json'), 'utf8')) as BuildRecord;
    expect(record.builder).toBe('node-gyp');
    expect(record.torch).toMatchObject({ version: lt.version, cxx11Abi: lt.cxx11Abi, root: lt.root });
  });

  it('test-loads and reports the libtorch it was compiled against', () => {
    expect(probeBinary(join(stage, 'build', 'Release', 'moalign.node'), lt)).toMatchObject({ ok: true, buildInfo: { torchVersion: lt.version, cxx11Abi: lt.cxx11Abi } });
  });

  it('computes a matmul and its gradient through the package loader', () => {
    const code = `
      import { tensor, loadAddon } from './dist/index.js';
      const a = tensor(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3], { requiresGrad: true });
      const b = tensor(new Float64Array([1, 0, 0, 1, 1, 1]), [3, 2]);
      const c = a.matmul(b);
      c.sum().backward();
      console.log(JSON.stringify({ path: loadAddon().binary.path, c: Array.from(c.toArray()), g: Array.from(a.grad().toArray()) }));`;
    const out = JSON.parse(ok(sh(process.execPath, ['--input-type=module', '-e', code], stage, { ...process.env, LIBTORCH: lt.root }), 'node'));
    expect(out.path).toBe(join(stage, 'build', 'Release', 'moalign.node'));
    expect(out.c).toEqual([4, 5, 10, 11]);
    expect(out.g).toEqual([1, 1, 2, 1, 1, 2]); // d sum(AB)/dA = 1 B^T
  });
});
