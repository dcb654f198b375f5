// Runs python3 with the same torch the resolver found, for independent reference values.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import type { Libtorch } from '../../ts/native/libtorch.js';

export function pythonWithTorch(lt: Libtorch, code: string): string {
  const env = { ...process.env };
  // a project-local pip --target install is importable once its folder is on PYTHONPATH
  if (lt.source === 'local') env.PYTHONPATH = dirname(lt.root);
  const run = spawnSync('python3', ['-c', code], { encoding: 'utf8', env, timeout: 120_000 });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return run.stdout.trim();
}
