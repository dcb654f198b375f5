// Runs python3 with the same torch the resolver found, for independent reference values.
import { spawnSync } from 'node:child_process';
import { type Libtorch, pythonEnvFor } from '../../ts/native/libtorch.js';

export function pythonWithTorch(lt: Libtorch, code: string): string {
  const run = spawnSync('python3', ['-c', code], { encoding: 'utf8', env: pythonEnvFor(lt), timeout: 120_000 });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return run.stdout.trim();
}
