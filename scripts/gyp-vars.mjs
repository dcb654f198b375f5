#!/usr/bin/env node
// What binding.gyp needs, printed for its `<!@(node scripts/gyp-vars.mjs <what>)` expansions:
// one shell-quoted word per line (gyp splits the output like sh). Run from the package root.
//   sources        the CPU sources, globbed: native/core/{,moo,model,adapters,train}/*.cpp and native/napi/*.cpp (not core/cuda/)
//   include        -isystem for libtorch's two include folders (keeps torch's warnings quiet)
//   libs           -L<libDir> -ltorch_cpu -lc10 -ltorch, and libtorch's own libgomp when it ships one
//   openmp         -fopenmp when libtorch ships a libgomp (CMakeLists.txt: our kernels' parallel_for)
//   ldflags        -Wl,-rpath,<libDir>; nothing when MOALIGN_PORTABLE=1 (the loader preloads libtorch)
//   abi            libtorch's _GLIBCXX_USE_CXX11_ABI (0 or 1)
//   addon-include  node-addon-api's include folder (absolute)
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// The project's one resolver (built by `npm run build:ts`): same libtorch as cmake-js and the loader.
import { describeLibtorch, resolveLibtorch } from '../dist/native/libtorch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Quoted only where needed, so that `abi` also reads right in a string (unsplit) expansion.
const q = (s) => (/^[\w@%+=:,./-]+$/.test(String(s)) ? String(s) : `'${String(s).replace(/'/g, `'\\''`)}'`);
const glob = (dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.cpp'))
    .sort()
    .map((f) => `${dir}/${f}`);

const what = process.argv[2];
// Under build.ts, MOALIGN_LIBTORCH_ROOT is the libtorch it resolved (and records): build against that one.
const env = process.env.MOALIGN_LIBTORCH_ROOT;
let found;
const torch = () => (found ??= env ? describeLibtorch(env, 'LIBTORCH') : resolveLibtorch());
// libtorch's bundled libgomp (pip: libgomp.so.1; libtorch zips: libgomp-<hash>.so.1), or none.
const gomp = () => {
  const name = readdirSync(torch().libDir).sort().find((f) => /^libgomp.*\.so/.test(f));
  return name ? join(torch().libDir, name) : null;
};
const vars = {
  sources: () => ['native/core', 'native/core/moo', 'native/core/model', 'native/core/adapters', 'native/core/train', 'native/napi'].flatMap(glob),
  include: () => ['include', 'include/torch/csrc/api/include'].flatMap((d) => ['-isystem', join(torch().root, d)]),
  libs: () => [`-L${torch().libDir}`, '-ltorch_cpu', '-lc10', '-ltorch', ...(gomp() ? [gomp()] : [])],
  openmp: () => (gomp() ? ['-fopenmp'] : []),
  ldflags: () => (process.env.MOALIGN_PORTABLE === '1' ? [] : [`-Wl,-rpath,${torch().libDir}`]),
  abi: () => [torch().cxx11Abi],
  // include_dir is relative to the working directory (node-addon-api computes it so).
  'addon-include': () => [resolve(createRequire(import.meta.url)('node-addon-api').include_dir)],
};
const out = vars[what];
if (!out) {
  console.error(`usage: node scripts/gyp-vars.mjs ${Object.keys(vars).join('|')}`);
  process.exit(2);
}
try {
  console.log(out().map(q).join('\n'));
} catch (err) {
  console.error(err.message); // LibtorchNotFoundError says what it tried and how to fix it
  process.exit(1);
}
