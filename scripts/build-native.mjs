#!/usr/bin/env node
// npm run build:native [-- --node-gyp] [--clean] [--portable]: rebuild the addon in a checkout.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const { resolveLibtorch } = await import('../dist/native/libtorch.js');
const { buildFromSource } = await import('../dist/native/build.js');
try {
  buildFromSource(resolveLibtorch(), {
    builder: argv.includes('--node-gyp') ? 'node-gyp' : undefined,
    clean: argv.includes('--clean'),
    portable: argv.includes('--portable') || process.env.MOALIGN_PORTABLE === '1',
    tests: existsSync(join(root, 'native', 'tests')),
    log: (l) => console.log(`moalign: ${l}`),
  });
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
