// Where the package and its caches live. Works from ts/ (tests, tsx) and dist/ (installed).
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the folder holding package.json, CMakeLists.txt, native/ and prebuilds/. */
export const packageRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** moalign's cache folder: `MOALIGN_CACHE_DIR`, else `$XDG_CACHE_HOME/moalign`, else `~/.cache/moalign`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MOALIGN_CACHE_DIR) return resolve(env.MOALIGN_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'moalign');
}
