#!/usr/bin/env node
// prebuildify calls "node-gyp rebuild --target=..."; this stands in for node-gyp (PREBUILD_NODE_GYP)
// and builds the portable binary (no absolute RUNPATH) with the project's own build instead.
// node-gyp's arguments do not apply to an N-API build and are ignored.
const { resolveLibtorch } = await import('../dist/native/libtorch.js');
const { buildFromSource } = await import('../dist/native/build.js');
try {
  buildFromSource(resolveLibtorch(), { portable: true, log: (l) => console.log(`moalign: ${l}`) });
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
