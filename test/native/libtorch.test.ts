import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeLibtorch, LibtorchNotFoundError, libtorchLibraries, libtorchTag, resolveLibtorch } from '../../ts/native/libtorch.js';
import { pythonWithTorch } from '../helpers/python.js';

const found = resolveLibtorch();
const scratch = () => mkdtempSync(join(tmpdir(), 'moalign-lt-'));
// An environment with none of the resolver's inputs, plus what a case adds.
const bare = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...extra });

/** A stand-in for python3 that prints `stdout` and exits with `status`. */
function fakePython(stdout: string, status = 0): string {
  const file = join(scratch(), 'python3');
  writeFileSync(file, `#!/bin/sh\necho '${stdout}'\nexit ${status}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('the libtorch the resolver reports is what Python torch says it is', () => {
  it('version, CUDA and C++ ABI match torch\'s own answers', () => {
    const out = JSON.parse(
      pythonWithTorch(found, 'import json, torch; print(json.dumps([torch.__version__, torch.version.cuda, int(torch._C._GLIBCXX_USE_CXX11_ABI)]))'),
    ) as [string, string | null, number];
    expect(found.fullVersion).toBe(out[0]);
    expect(out[0].startsWith(found.version)).toBe(true);
    expect(found.cuda).toBe(out[1] !== null);
    expect(found.cxx11Abi).toBe(out[2]);
  });

  it('lists the shared libraries to preload, libc10 first', () => {
    const libs = libtorchLibraries(found);
    expect(libs[0]).toMatch(/libc10\.so$/);
    expect(libs.some((l) => l.endsWith('libtorch_cpu.so'))).toBe(true);
  });

  it('names a binary\'s libtorch needs without dots', () => {
    expect(libtorchTag({ version: '2.13.0', cuda: false, cxx11Abi: 1 })).toBe('torch-2_13_0-cpu-abi1');
    expect(libtorchTag({ version: '2.11.1', cuda: true, cxx11Abi: 0 })).toBe('torch-2_11_1-cuda-abi0');
  });
});

describe('resolver order', () => {
  it('LIBTORCH wins over everything else', () => {
    const lt = resolveLibtorch({ env: bare({ LIBTORCH: found.root, MOALIGN_PYTHON: fakePython('', 1) }) });
    expect(lt.source).toBe('LIBTORCH');
    expect(lt.root).toBe(found.root);
  });

  it('Torch_DIR is the share/cmake/Torch folder', () => {
    const lt = resolveLibtorch({ env: bare({ Torch_DIR: found.cmakeDir }) });
    expect(lt.source).toBe('Torch_DIR');
    expect(lt.root).toBe(found.root);
  });

  it('a broken LIBTORCH is an error naming it, not a reason to look elsewhere', () => {
    const empty = scratch();
    expect(() => resolveLibtorch({ env: bare({ LIBTORCH: empty }) })).toThrow(new RegExp(`LIBTORCH=${empty}: .*has no lib/libc10.so`));
  });

  it('then Python\'s torch', () => {
    const lt = resolveLibtorch({ env: bare({ MOALIGN_PYTHON: fakePython(found.root) }), root: scratch() });
    expect(lt.source).toBe('python');
  });

  it('then the project-local install', () => {
    const root = scratch();
    mkdirSync(join(root, '.libtorch'));
    // the local folder layout is <root>/.libtorch/torch; point it at the real one
    symlinkSync(found.root, join(root, '.libtorch', 'torch'));
    const lt = resolveLibtorch({ env: bare({ MOALIGN_PYTHON: fakePython('', 0) }), root });
    expect(lt.source).toBe('local');
  });

  it('when nothing works, the error lists every rule and how to fix it', () => {
    const root = scratch();
    let err: LibtorchNotFoundError | undefined;
    try {
      resolveLibtorch({ env: bare({ MOALIGN_PYTHON: join(root, 'no-such-python') }), root });
    } catch (e) {
      err = e as LibtorchNotFoundError;
    }
    expect(err).toBeInstanceOf(LibtorchNotFoundError);
    expect(err!.code).toBe('ERR_MOALIGN_LIBTORCH_NOT_FOUND');
    expect(err!.tried).toHaveLength(3);
    expect(err!.message).toMatch(/LIBTORCH and Torch_DIR: not set/);
    expect(err!.message).toMatch(/no-such-python could not run/);
    expect(err!.message).toMatch(/\.libtorch\/torch does not exist/);
    expect(err!.message).toMatch(/set LIBTORCH to a libtorch folder/);
  });

  it('describeLibtorch refuses a folder without torch headers', () => {
    const root = scratch();
    mkdirSync(join(root, 'lib'));
    for (const l of ['libc10.so', 'libtorch_cpu.so']) writeFileSync(join(root, 'lib', l), '');
    expect(() => describeLibtorch(root, 'LIBTORCH')).toThrow(/has no torch\/version.h: not a libtorch folder/);
  });
});
