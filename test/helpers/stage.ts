// A throw-away copy of the package's sources (no build/, no prebuilds/), sharing the checkout's
// node_modules, so packaging tests can build and pack without touching the checkout.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function stagePackage(into: string): string {
  const repo = resolve('.');
  mkdirSync(into, { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'CMakeLists.txt', 'binding.gyp', 'tsconfig.json', 'tsconfig.build.json']) {
    if (existsSync(join(repo, f))) cpSync(join(repo, f), join(into, f));
  }
  for (const d of ['native/core', 'native/napi', 'ts', 'scripts']) cpSync(join(repo, d), join(into, d), { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(into, 'node_modules'));
  ok(sh('npm', ['run', 'build:ts'], into), 'tsc');
  return into;
}

export function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const run = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 600_000 });
  if (run.error) throw run.error;
  return run;
}

/** stdout of a run that must succeed; otherwise an error with everything it printed. */
export function ok(run: SpawnSyncReturns<string>, what: string): string {
  if (run.status !== 0) throw new Error(`${what} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}
