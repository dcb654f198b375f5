#!/usr/bin/env node
// Development set-up: the browser test of the HTML report (test/report/browser.test.ts) drives a
// headless Chromium through playwright-core, which downloads no browser of its own. This step makes
// sure the distribution's `chromium` is there: on a Debian-like machine where it is missing, it
// installs the package with apt-get, non-interactively, when running as root or with passwordless
// sudo. It never fails the set-up: when it cannot install, it says why and the test skips, naming
// the same reason. Nothing is downloaded from anywhere but the system's apt repositories.
//
// Run by scripts/install.mjs in a checkout (never for a user installing the package). Skipped when
// MOALIGN_SKIP_CHROMIUM=1, or when MOALIGN_CHROMIUM names an existing browser executable.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The names Debian and Ubuntu give the browser's command. */
export const CHROMIUM_COMMANDS = ['chromium', 'chromium-browser'];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The browser to drive: MOALIGN_CHROMIUM, else the first of CHROMIUM_COMMANDS on PATH. */
export function findChromium(env = process.env) {
  if (env.MOALIGN_CHROMIUM) return executable(env.MOALIGN_CHROMIUM) ? env.MOALIGN_CHROMIUM : undefined;
  for (const name of CHROMIUM_COMMANDS) {
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      if (dir && executable(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

const say = (line) => console.log(`moalign set-up: ${line}`);
const onPath = (name) => (process.env.PATH ?? '').split(delimiter).some((d) => d && executable(join(d, name)));

/** How to run apt-get here as root: [] when root, ['sudo', '-n'] with passwordless sudo; or why not. */
function asRoot() {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return { prefix: [] };
  if (!onPath('sudo')) return { why: 'not running as root and sudo is not installed' };
  const probe = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 10_000 });
  if (probe.status !== 0) return { why: 'not running as root and sudo asks for a password' };
  return { prefix: ['sudo', '-n'] };
}

function apt(prefix, args, timeoutSeconds) {
  const [cmd, ...rest] = [...prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-q', '-o', 'DPkg::Lock::Timeout=120', '-o', 'Dpkg::Use-Pty=0', ...args];
  const res = spawnSync(cmd, rest, { stdio: ['ignore', 'inherit', 'inherit'], timeout: timeoutSeconds * 1000 });
  if (res.error) return res.error.code === 'ETIMEDOUT' ? `timed out after ${timeoutSeconds} s` : res.error.message;
  return res.status === 0 ? undefined : `exited with ${res.status ?? res.signal}`;
}

/** Installs Debian's chromium when missing; returns the browser's path, or undefined (having said why). */
export function ensureChromium() {
  if (process.env.MOALIGN_SKIP_CHROMIUM === '1') {
    say('MOALIGN_SKIP_CHROMIUM=1: not checking for chromium (the report\'s browser test will skip)');
    return undefined;
  }
  if (process.env.MOALIGN_CHROMIUM) {
    const found = findChromium();
    if (!found) say(`MOALIGN_CHROMIUM=${process.env.MOALIGN_CHROMIUM} is not an executable file (the report's browser test will skip)`);
    return found;
  }
  const found = findChromium();
  if (found) return found;
  const cannot = (why) => {
    say(`chromium is not installed and cannot be installed here: ${why}. The report's browser test will skip; install Debian's chromium package (or set MOALIGN_CHROMIUM) to run it.`);
    return undefined;
  };
  if (process.platform !== 'linux') return cannot(`${process.platform} is not Linux`);
  if (!onPath('apt-get')) return cannot('no apt-get (not a Debian-like system)');
  const root = asRoot();
  if (root.why) return cannot(root.why);
  say('chromium is missing: installing the chromium package with apt-get (for the report\'s browser test)');
  const start = Date.now();
  // fresh package lists first (a new machine may have none, or stale ones); a failed update can
  // still leave usable lists, so the install is tried regardless
  const updated = apt(root.prefix, ['update'], 300);
  if (updated) say(`apt-get update ${updated}; trying the install anyway`);
  const installed = apt(root.prefix, ['install', '-y', '--no-install-recommends', 'chromium', 'fonts-dejavu-core'], 900);
  if (installed) return cannot(`apt-get install chromium ${installed}`);
  const browser = findChromium();
  if (!browser) return cannot(`apt-get installed chromium but neither ${CHROMIUM_COMMANDS.join(' nor ')} is on PATH`);
  say(`installed ${browser} in ${Math.round((Date.now() - start) / 1000)} s`);
  return browser;
}

// as a script: never fails
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    ensureChromium();
  } catch (err) {
    say(`checking for chromium failed: ${err.message} (the report's browser test will skip)`);
  }
}
