#!/usr/bin/env node
// npm run prebuild: writes prebuilds/<platform>-<arch>/moalign.napi.glibc.<libtorch tag>.node with
// prebuildify (through cmake-js, via scripts/prebuild-shim.mjs). The binary has no absolute
// RUNPATH: the loader preloads whichever libtorch of that version the resolver finds.
// prebuildify moves the binary out of build/Release, so the checkout's own build is relinked after.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { resolveLibtorch, libtorchTag } = await import('../dist/native/libtorch.js');
const { buildFromSource } = await import('../dist/native/build.js');
const { prebuildDir } = await import('../dist/native/prebuilds.js');

const lt = resolveLibtorch();
const hadBuild = existsSync(join(root, 'build', 'Release', 'moalign.node'));
const prebuildify = join(dirname(require.resolve('prebuildify/package.json')), 'bin.js');
const res = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--tag-libc'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PREBUILD_NODE_GYP: join(root, 'scripts', 'prebuild-shim.mjs') },
});
if (res.status !== 0) process.exit(res.status ?? 1);

// prebuildify names it moalign.glibc.node; add the N-API and libtorch tags the loader matches on.
const dir = prebuildDir(root);
const fresh = readdirSync(dir).filter((f) => f.endsWith('.node') && !f.includes('.torch-'));
const tagged = `moalign.napi.glibc.${libtorchTag(lt)}.node`;
for (const f of fresh) renameSync(join(dir, f), join(dir, tagged));
console.log(`moalign: wrote ${join(dir, tagged)} for libtorch ${lt.fullVersion}`);

rmSync(join(root, 'build', 'Release', 'moalign.build.json'), { force: true });
if (hadBuild) buildFromSource(lt, { tests: existsSync(join(root, 'native', 'tests')), log: (l) => console.log(`moalign: ${l}`) });
