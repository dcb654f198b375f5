#!/usr/bin/env node
// Test-loads moalign.node in a throw-away process, so that a broken or mismatched binary
// (a crash inside a shared library included) never takes the user's process down.
// Usage: node probe-addon.cjs <addon.node> [library-to-preload ...]
// Prints one JSON line: {"ok":true,"buildInfo":{...}} or {"ok":false,"error":"..."}.
'use strict';
const { preloadLibraries } = require('./preload-libtorch.cjs');

const [binary, ...preload] = process.argv.slice(2);
try {
  preloadLibraries(preload);
  const addon = require(binary);
  const info = addon.buildInfo();
  addon.runtimeInfo();
  process.stdout.write(JSON.stringify({ ok: true, buildInfo: info }) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err) }) + '\n');
}
