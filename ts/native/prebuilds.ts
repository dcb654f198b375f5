// Which binary to load: a source build in build/Release, else a prebuilt one in
// prebuilds/<platform>-<arch>/ whose name carries the libtorch it needs
// (moalign.napi.glibc.torch-2_13_0-cpu-abi1.node). node-gyp-build judges the Node side of the
// name (runtime, napi, libc); we judge the libtorch side.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Libtorch, libtorchTag } from './libtorch.js';

const require = createRequire(import.meta.url);
interface GypTags {
  file: string;
}
const nodeGypBuild = require('node-gyp-build') as {
  parseTags(file: string): GypTags | undefined;
  matchTags(runtime: string, abi: string): (tags: GypTags | undefined) => boolean;
};

export const sourceBuildDir = (root: string) => join(root, 'build', 'Release');
export const prebuildDir = (root: string, platform = process.platform, arch = process.arch) =>
  join(root, 'prebuilds', `${platform}-${arch}`);

/** What the source build records about the libtorch it compiled against (build/Release/moalign.build.json). */
export interface BuildRecord {
  torch: Pick<Libtorch, 'version' | 'fullVersion' | 'cuda' | 'cxx11Abi' | 'root' | 'source'>;
  builder: 'cmake-js' | 'node-gyp';
  portable: boolean;
  seconds: number;
  date: string;
}

export function readBuildRecord(root: string): BuildRecord | null {
  const file = join(sourceBuildDir(root), 'moalign.build.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BuildRecord) : null;
}

export interface Candidate {
  path: string;
  origin: 'source' | 'prebuilt';
}

export interface PrebuiltSearch {
  /** The prebuilt binary for this libtorch, if any. */
  match: string | null;
  /** libtorch tags of the other prebuilt binaries for this platform (for the error message). */
  others: string[];
}

/** Prebuilt binaries usable by this Node (napi, libc), split by whether they fit `lt`. */
export function findPrebuilt(root: string, lt: Libtorch): PrebuiltSearch {
  const dir = prebuildDir(root);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  const fitsNode = nodeGypBuild.matchTags('node', process.versions.modules);
  const usable = files.filter((f) => fitsNode(nodeGypBuild.parseTags(f)));
  const want = libtorchTag(lt);
  const tagOf = (f: string) => f.split('.').find((t) => t.startsWith('torch-')) ?? 'untagged';
  const match = usable.find((f) => tagOf(f) === want);
  return { match: match ? join(dir, match) : null, others: usable.filter((f) => f !== match).map(tagOf) };
}

/** The binary to load for `lt`: the source build first (as node-gyp-build does), else a prebuilt one. */
export function chooseBinary(root: string, lt: Libtorch): Candidate {
  const built = join(sourceBuildDir(root), 'moalign.node');
  if (existsSync(built)) return { path: built, origin: 'source' };
  const { match, others } = findPrebuilt(root, lt);
  if (match) return { path: match, origin: 'prebuilt' };
  const err = new Error(
    [
      `moalign has no native binary for libtorch ${lt.fullVersion} (${libtorchTag(lt)}).`,
      others.length ? `Prebuilt binaries here are for: ${others.join(', ')}.` : `There is no build in ${sourceBuildDir(root)} and no prebuilt binary in ${prebuildDir(root)}.`,
      'Fix: build it from source with `npm rebuild moalign` (or `npm run build:native` in a checkout), or point LIBTORCH at a libtorch of a prebuilt version.',
    ].join('\n'),
  );
  Object.assign(err, { code: 'ERR_MOALIGN_NO_BINARY' });
  throw err;
}
