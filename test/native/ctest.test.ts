import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The C++ core's own tests (native/tests), built by the install step in a checkout.
const driver = 'build/tests/moalign_core_tests';
const built = existsSync(driver);
if (!built) console.warn(`skipping the C++ core tests: ${driver} is not built (run npm run build:native in a checkout)`);

// ctest takes about 12 s on a quiet 2-core machine, 20 s with both cores busy, and once took
// 80 s in CI next to the packaging builds; hence a limit far above those, and a spawn that
// leaves vitest's own clock running (spawnSync would block it until ctest ended).
const limitMs = 600_000;

function runCtest(): Promise<{ status: number | null; output: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('ctest', ['--test-dir', 'build', '--output-on-failure'], { env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: limitMs - 10_000 });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output, seconds: (Date.now() - started) / 1000 }));
  });
}

describe('C++ core (ctest)', () => {
  it.skipIf(!built)('every ctest case passes', async () => {
    const run = await runCtest();
    // the slowest cases, so that a slow CI machine's log says where the time went
    const cases = [...run.output.matchAll(/Test +#\d+: (\S+) \.+ +\S+ +([\d.]+) sec/g)].map((m) => ({ name: m[1], seconds: Number(m[2]) }));
    const slowest = cases.sort((a, b) => b.seconds - a.seconds).slice(0, 3).map((c) => `${c.name} ${c.seconds.toFixed(1)} s`);
    console.log(`ctest: ${cases.length} cases in ${run.seconds.toFixed(1)} s; slowest: ${slowest.join(', ')}`);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/100% tests passed, 0 tests failed out of [1-9]\d*/);
  }, limitMs);
});
