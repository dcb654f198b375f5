// The one libtorch resolver, shared by the install step, the build and the loader.
// Order: LIBTORCH (a libtorch folder) or Torch_DIR; a Python torch that python3 can import;
// the project-local pip install (.libtorch/). Nothing here downloads; installLocalLibtorch()
// is called only by the install step.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { packageRoot } from '../paths.js';

export type LibtorchSource = 'LIBTORCH' | 'Torch_DIR' | 'python' | 'local';

export interface Libtorch {
  /** Which rule of the resolver found it. */
  source: LibtorchSource;
  /** The libtorch folder (with lib/, include/, share/cmake/Torch). */
  root: string;
  libDir: string;
  /** What CMake's find_package(Torch) needs as Torch_DIR. */
  cmakeDir: string;
  /** "2.13.0", from the headers. */
  version: string;
  /** The full build string when the folder records one ("2.13.0+cpu"), else `version`. */
  fullVersion: string;
  cuda: boolean;
  /** CUDA version of a pip torch ("12.6"), when known. */
  cudaVersion: string | null;
  /** _GLIBCXX_USE_CXX11_ABI of libtorch's C++ symbols; the addon must match it. */
  cxx11Abi: 0 | 1;
}

/** Raised when no rule finds a usable libtorch; `tried` says what each rule saw. */
export class LibtorchNotFoundError extends Error {
  readonly code = 'ERR_MOALIGN_LIBTORCH_NOT_FOUND';
  constructor(readonly tried: string[]) {
    super(
      [
        'moalign could not find libtorch. Tried, in order:',
        ...tried.map((t) => `  - ${t}`),
        'Fix it with one of:',
        '  - set LIBTORCH to a libtorch folder (one with lib/libtorch_cpu.so and share/cmake/Torch), or Torch_DIR to its share/cmake/Torch;',
        '  - install PyTorch for python3 (pip install torch);',
        '  - reinstall moalign (npm ci / npm rebuild moalign): its install step puts the CPU torch wheel in .libtorch/ with pip.',
      ].join('\n'),
    );
    this.name = 'LibtorchNotFoundError';
  }
}

const libName = (base: string) => `lib${base}.so`;

/** The shared libraries to load before the addon, in dependency order. */
export function libtorchLibraries(lt: Libtorch): string[] {
  const names = lt.cuda ? ['c10', 'c10_cuda', 'torch_cpu', 'torch_cuda', 'torch'] : ['c10', 'torch_cpu', 'torch'];
  return names.map((n) => join(lt.libDir, libName(n))).filter((p) => existsSync(p));
}

function readVersion(root: string): string {
  for (const header of ['include/torch/headeronly/version.h', 'include/torch/csrc/api/include/torch/version.h']) {
    const file = join(root, header);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const part = (name: string) => text.match(new RegExp(`#define\\s+TORCH_VERSION_${name}\\s+(\\d+)`))?.[1];
    const [major, minor, patch] = ['MAJOR', 'MINOR', 'PATCH'].map(part);
    if (major && minor && patch) return `${major}.${minor}.${patch}`;
  }
  throw new Error(`${root} has no torch/version.h: not a libtorch folder`);
}

/** pip's torch records "2.13.0+cpu" and its CUDA version in version.py; libtorch zips in build-version. */
function readBuildStrings(root: string): { fullVersion: string | null; cudaVersion: string | null } {
  const py = join(root, 'version.py');
  if (existsSync(py)) {
    const text = readFileSync(py, 'utf8');
    return {
      fullVersion: text.match(/__version__\s*=\s*'([^']+)'/)?.[1] ?? null,
      cudaVersion: text.match(/^cuda\s*(?::[^=]*)?=\s*'([^']+)'/m)?.[1] ?? null,
    };
  }
  const bv = join(root, 'build-version');
  return { fullVersion: existsSync(bv) ? readFileSync(bv, 'utf8').trim() : null, cudaVersion: null };
}

/** The C++ ABI, read from libc10's symbols: the new ABI mangles std::string as std::__cxx11. */
function readCxx11Abi(libDir: string): 0 | 1 {
  return readFileSync(join(libDir, libName('c10'))).includes('_ZNSt7__cxx11') ? 1 : 0;
}

/** Describes the libtorch at `root`; throws with the reason when it is not a usable one. */
export function describeLibtorch(root: string, source: LibtorchSource): Libtorch {
  root = resolve(root);
  const libDir = join(root, 'lib');
  for (const lib of ['c10', 'torch_cpu']) {
    if (!existsSync(join(libDir, libName(lib)))) throw new Error(`${root} has no lib/${libName(lib)}`);
  }
  const cmakeDir = join(root, 'share', 'cmake', 'Torch');
  const version = readVersion(root);
  const { fullVersion, cudaVersion } = readBuildStrings(root);
  return {
    source,
    root,
    libDir,
    cmakeDir,
    version,
    fullVersion: fullVersion ?? version,
    cuda: existsSync(join(libDir, libName('torch_cuda'))),
    cudaVersion,
    cxx11Abi: readCxx11Abi(libDir),
  };
}

/** The folder the install step pip-installs torch into; torch itself lands in <it>/torch. */
export function localLibtorchDir(root = packageRoot): string {
  return join(root, '.libtorch');
}

/** The Python that the resolver asks: MOALIGN_PYTHON, else python3. */
export function pythonExecutable(env: NodeJS.ProcessEnv = process.env): string {
  return env.MOALIGN_PYTHON || 'python3';
}

/** The environment under which python3 imports the very torch `lt` is (for reference values and baselines). */
export function pythonEnvFor(lt: Libtorch, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (lt.source !== 'local') return env;
  // The project-local pip install: root is <target>/torch, so <target> goes on PYTHONPATH.
  const entries = [dirname(lt.root), env.PYTHONPATH].filter((p): p is string => Boolean(p));
  return { ...env, PYTHONPATH: entries.join(delimiter) };
}

/** Where python3's torch package is, found without importing torch (fast). */
function findPythonTorch(python: string): { root: string | null; note: string } {
  const code = "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s else '')";
  const run = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 20_000 });
  if (run.error) return { root: null, note: `${python} could not run (${run.error.message})` };
  if (run.status !== 0) return { root: null, note: `${python} failed: ${run.stderr.trim().split('\n').pop()}` };
  const root = run.stdout.trim();
  return root ? { root, note: '' } : { root: null, note: `${python} has no torch module` };
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** Package root whose .libtorch/ is the last resort. */
  root?: string;
}

/** Finds libtorch by the resolver's rules, or throws LibtorchNotFoundError saying what was tried. */
export function resolveLibtorch(options: ResolveOptions = {}): Libtorch {
  const env = options.env ?? process.env;
  const tried: string[] = [];
  const attempt = (root: string, source: LibtorchSource, label: string): Libtorch | null => {
    try {
      return describeLibtorch(root, source);
    } catch (err) {
      tried.push(`${label}: ${(err as Error).message}`);
      return null;
    }
  };
  if (env.LIBTORCH) {
    // An explicit choice that is broken is an error, not a reason to look elsewhere.
    const lt = attempt(env.LIBTORCH, 'LIBTORCH', `LIBTORCH=${env.LIBTORCH}`);
    if (lt) return lt;
    throw new LibtorchNotFoundError(tried);
  }
  if (env.Torch_DIR) {
    const lt = attempt(resolve(env.Torch_DIR, '..', '..', '..'), 'Torch_DIR', `Torch_DIR=${env.Torch_DIR}`);
    if (lt) return lt;
    throw new LibtorchNotFoundError(tried);
  }
  tried.push('LIBTORCH and Torch_DIR: not set');
  const python = pythonExecutable(env);
  const py = findPythonTorch(python);
  if (py.root) {
    const lt = attempt(py.root, 'python', `${python}'s torch at ${py.root}`);
    if (lt) return lt;
  } else {
    tried.push(`Python torch: ${py.note}`);
  }
  const local = join(localLibtorchDir(options.root), 'torch');
  if (existsSync(local)) {
    const lt = attempt(local, 'local', `project-local ${local}`);
    if (lt) return lt;
  } else {
    tried.push(`project-local torch: ${local} does not exist (the install step creates it)`);
  }
  throw new LibtorchNotFoundError(tried);
}

/** The torch wheel the install step asks pip for: MOALIGN_TORCH_SPEC, else the CPU build we test with. */
export function torchPipSpec(env: NodeJS.ProcessEnv = process.env): string {
  return env.MOALIGN_TORCH_SPEC || 'torch==2.13.0+cpu';
}

/**
 * Installs the torch wheel into .libtorch/ with pip (install step only; never at run time).
 * `--retries 0` keeps an unreachable default index from costing minutes where pip is
 * configured with a local mirror; pip's own configuration decides where it looks.
 */
export function installLocalLibtorch(options: { root?: string; env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Libtorch {
  const env = options.env ?? process.env;
  const target = localLibtorchDir(options.root);
  const spec = torchPipSpec(env);
  const python = pythonExecutable(env);
  const args = ['-m', 'pip', 'install', '--no-deps', '--no-input', '--disable-pip-version-check', '--retries', '0', '--timeout', '30', '--upgrade', '--target', target, spec];
  options.log?.(`installing ${spec} into ${target} with pip (one time, about 20 s offline, 760 MB)`);
  const run = spawnSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : run.stderr.trim().split('\n').slice(-3).join('\n');
    throw new LibtorchNotFoundError([
      `pip install ${spec} into ${target}: ${why}`,
      'set MOALIGN_TORCH_SPEC to another torch requirement, or PIP_EXTRA_INDEX_URL to an index that serves it (PyTorch publishes CPU wheels on its own index)',
    ]);
  }
  return describeLibtorch(join(target, 'torch'), 'local');
}

/** A tag naming what a binary needs from libtorch: "torch-2_13_0-cpu-abi1" (no dots: it sits in a file name). */
export function libtorchTag(lt: Pick<Libtorch, 'version' | 'cuda' | 'cxx11Abi'>): string {
  return `torch-${lt.version.replace(/\./g, '_')}-${lt.cuda ? 'cuda' : 'cpu'}-abi${lt.cxx11Abi}`;
}
