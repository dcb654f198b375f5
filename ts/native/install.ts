// The install step (`npm install` / `npm ci` runs it through scripts/install.mjs):
//   1. libtorch: resolve it, or pip-install the CPU wheel into .libtorch/ (the only download, and
//      only here, never at run time);
//   2. a prebuilt binary for this platform and libtorch, if one test-loads in a child process;
//   3. otherwise a source build, which must then test-load too.
// MOALIGN_BUILD_FROM_SOURCE=1 skips step 2; MOALIGN_PREBUILT_ONLY=1 forbids step 3.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { buildFromSource } from './build.js';
import { installLocalLibtorch, type Libtorch, LibtorchNotFoundError, libtorchTag, resolveLibtorch } from './libtorch.js';
import { testLoad } from './loader.js';
import { findPrebuilt } from './prebuilds.js';

const log = (line: string) => console.log(`moalign: ${line}`);

function ensureLibtorch(): Libtorch {
  try {
    return resolveLibtorch();
  } catch (err) {
    if (!(err instanceof LibtorchNotFoundError) || process.env.LIBTORCH || process.env.Torch_DIR) throw err;
    return installLocalLibtorch({ log });
  }
}

export function install(env: NodeJS.ProcessEnv = process.env): void {
  const lt = ensureLibtorch();
  log(`libtorch ${lt.fullVersion} (${lt.cuda ? 'CUDA' : 'CPU'}, C++11 ABI ${lt.cxx11Abi}) from ${lt.source}: ${lt.root}`);
  if (env.MOALIGN_BUILD_FROM_SOURCE !== '1') {
    const { match, others } = findPrebuilt(packageRoot, lt);
    if (match) {
      const problem = testLoad(match, lt);
      if (!problem) {
        log(`using the prebuilt binary ${match}`);
        return;
      }
      log(`the prebuilt binary does not load here, building from source instead:\n${problem.message}`);
    } else if (others.length) {
      log(`prebuilt binaries are for ${others.join(', ')}, not ${libtorchTag(lt)}`);
    }
  }
  if (env.MOALIGN_PREBUILT_ONLY === '1') {
    throw new Error(`MOALIGN_PREBUILT_ONLY=1 and no prebuilt binary fits libtorch ${lt.fullVersion} (${libtorchTag(lt)}) on ${process.platform}-${process.arch}`);
  }
  // In a checkout (tests present) the C++ core tests are built too, for ctest.
  buildFromSource(lt, { tests: existsSync(join(packageRoot, 'native', 'tests')), log });
  const problem = testLoad(join(packageRoot, 'build', 'Release', 'moalign.node'), lt);
  if (problem) throw problem;
  log('native addon built and test-loaded');
}
