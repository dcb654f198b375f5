'use strict';
// Loads libtorch's shared libraries into this process, so that a moalign.node without RUNPATH
// resolves its NEEDED entries (libc10.so, libtorch_cpu.so, ...) to them. Plain CommonJS: the
// child-process probe (probe-addon.cjs) and the loader (ts/native/loader.ts) both use it.
const { constants } = require('node:os');

function preloadLibraries(paths) {
  for (const lib of paths) {
    try {
      process.dlopen({ exports: {} }, lib, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
    } catch (err) {
      // A plain shared library "did not self-register" as an addon: it is loaded all the same.
      if (!/self-register/.test(err.message)) throw err;
    }
  }
}

module.exports = { preloadLibraries };
