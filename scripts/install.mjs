#!/usr/bin/env node
// npm's install hook. In a checkout the TypeScript is compiled first (devDependencies are present);
// a packed tarball ships dist/ already. Then the install step in ts/native/install.ts runs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const checkout = existsSync(join(root, 'ts')) && existsSync(join(root, 'tsconfig.build.json'));
if (checkout) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}
try {
  const { install } = await import('../dist/native/install.js');
  install();
} catch (err) {
  console.error(`\nmoalign install failed:\n${err.message}\n`);
  process.exit(1);
}
// development set-up only: Debian's chromium for the report's browser test (never fails the install)
if (checkout) spawnSync(process.execPath, [join(root, 'scripts', 'ensure-chromium.mjs')], { stdio: 'inherit' });
