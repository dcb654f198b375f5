#!/usr/bin/env node
// Test-loads moalign.node in a throw-away process, so that a broken or mismatched binary
// (a crash inside a shared library included) never takes the user's process down.
// Usage: node probe-addon.cjs <addon.node> [library-to-preload ...]
// Prints one JSON line: {"ok":true,"buildInfo":{...}} or {"ok":false,"error":"..."}.
'use strict';
const { constants } = require('node:os');
const [binary, ...preload] = process.argv.slice(2);
try {
  for (const lib of preload) {
    try {
      process.dlopen({ exports: {} }, lib, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
    } catch (err) {
      // A plain shared library "did not self-register": it is loaded all the same.
      if (!/self-register/.test(err.message)) throw err;
    }
  }
  const addon = require(binary);
  const info = addon.buildInfo();
  addon.runtimeInfo();
  process.stdout.write(JSON.stringify({ ok: true, buildInfo: info }) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err) }) + '\n');
}
