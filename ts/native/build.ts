// Building moalign.node from source: cmake-js over CMakeLists.txt (the default), or node-gyp over
// binding.gyp (the fallback where cmake is missing). Both compile the same CPU sources against
// the libtorch the resolver found, with its C++ ABI, and record that libtorch beside the binary.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { writeTextAtomicSync } from '../util/atomic-file.js';
import type { Libtorch } from './libtorch.js';
import { type BuildRecord, sourceBuildDir } from './prebuilds.js';

const require = createRequire(import.meta.url);

export interface BuildOptions {
  /** 'cmake-js' (default) or 'node-gyp'. */
  builder?: 'cmake-js' | 'node-gyp';
  /** No absolute RUNPATH (prebuilt binaries); the loader preloads libtorch instead. Default false. */
  portable?: boolean;
  /** Also build the C++ core tests for ctest. Default false. */
  tests?: boolean;
  /** A clean rebuild instead of an incremental one. Default false. */
  clean?: boolean;
  root?: string;
  log?: (line: string) => void;
}

function hasCommand(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** cmake-js when cmake is installed, node-gyp otherwise. MOALIGN_BUILDER overrides. */
export function defaultBuilder(env: NodeJS.ProcessEnv = process.env): 'cmake-js' | 'node-gyp' {
  if (env.MOALIGN_BUILDER === 'cmake-js' || env.MOALIGN_BUILDER === 'node-gyp') return env.MOALIGN_BUILDER;
  return hasCommand('cmake') ? 'cmake-js' : 'node-gyp';
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): void {
  const res = spawnSync(cmd, args, { cwd, stdio: 'inherit', env });
  if (res.error) throw new Error(`${cmd} could not start: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} failed with exit code ${res.status}`);
}

/** Compiles build/Release/moalign.node against `lt` and writes build/Release/moalign.build.json. */
export function buildFromSource(lt: Libtorch, options: BuildOptions = {}): BuildRecord {
  const root = options.root ?? packageRoot;
  const builder = options.builder ?? defaultBuilder();
  const started = Date.now();
  const env = { ...process.env, MOALIGN_LIBTORCH_ROOT: lt.root };
  options.log?.(`building the native addon with ${builder} against libtorch ${lt.fullVersion} (${lt.source}: ${lt.root})`);
  if (builder === 'cmake-js') {
    const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
    const defs = {
      Torch_DIR: lt.cmakeDir,
      MOALIGN_CXX11_ABI: String(lt.cxx11Abi),
      MOALIGN_PORTABLE: options.portable ? 'ON' : 'OFF',
      MOALIGN_BUILD_TESTS: options.tests ? 'ON' : 'OFF',
      CMAKE_BUILD_TYPE: 'Release',
    };
    const flags = ['--directory', root, ...Object.entries(defs).map(([k, v]) => `--CD${k}=${v}`)];
    // `cmake-js build` skips configuring when a cache exists, which would drop changed flags:
    // configure every time (under a second), then build (Ninja redoes only what changed).
    if (options.clean) run(process.execPath, [cmakeJs, 'clean', '--directory', root], root, env);
    run(process.execPath, [cmakeJs, 'configure', ...flags], root, env);
    run(process.execPath, [cmakeJs, 'build', ...flags], root, env);
  } else {
    // npm puts its bundled node-gyp on PATH for scripts; outside npm, `npx node-gyp` finds it.
    const nodeGyp = process.env.npm_config_node_gyp;
    const [cmd, pre] = nodeGyp ? [process.execPath, [nodeGyp]] : ['npx', ['--yes', 'node-gyp']];
    const nodedir = process.env.npm_config_nodedir ?? join(process.execPath, '..', '..');
    run(cmd, [...pre, 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], root, { ...env, MOALIGN_PORTABLE: options.portable ? '1' : '' });
  }
  const record: BuildRecord = {
    torch: { version: lt.version, fullVersion: lt.fullVersion, cuda: lt.cuda, cxx11Abi: lt.cxx11Abi, root: lt.root, source: lt.source },
    builder,
    portable: Boolean(options.portable),
    seconds: (Date.now() - started) / 1000,
    date: new Date().toISOString(),
  };
  const dir = sourceBuildDir(root);
  mkdirSync(dir, { recursive: true });
  writeTextAtomicSync(join(dir, 'moalign.build.json'), JSON.stringify(record, null, 2));
  options.log?.(`built in ${record.seconds.toFixed(1)} s`);
  return record;
}
