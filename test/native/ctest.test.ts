import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The C++ core's own tests (native/tests), built by the install step in a checkout.
const driver = 'build/tests/moalign_core_tests';
const built = existsSync(driver);
if (!built) console.warn(`skipping the C++ core tests: ${driver} is not built (run npm run build:native in a checkout)`);

describe('C++ core (ctest)', () => {
  it.skipIf(!built)('every ctest case passes', () => {
    const run = spawnSync('ctest', ['--test-dir', 'build', '--output-on-failure'], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 300_000 });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/100% tests passed, 0 tests failed out of [1-9]\d*/);
  });
});
