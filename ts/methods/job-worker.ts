// The child process of one parallel job (jobs.ts): it receives a job over IPC, runs it (runJob,
// the same function as in-process jobs, so the same seeded training or generation), streams its
// progress, and answers with the job's result and its own CPU seconds (every thread of this
// process, the native compute thread included), which the parent adds to the step's record.
//
// An 'abort' message, or the parent going away, cancels the job at a safe point: a training saves
// its checkpoint, so the parent's re-run continues from there.
import { join } from 'node:path';
import { gpuSeconds } from '../engine/runtime.js';
import { runJob, type ToParent, type ToWorker } from './jobs.js';

const abort = new AbortController();
let started = false;

/** Sends the last message, then exits (once it is written: the parent reads it before 'close'). */
function finish(message: ToParent, code: number): void {
  if (!process.connected) process.exit(code);
  process.send?.(message, undefined, {}, () => process.exit(code));
}

async function run({ dir, kind, job }: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  started = true;
  try {
    const result = await runJob(
      { path: (...parts) => join(dir, ...parts) },
      kind,
      job,
      { signal: abort.signal, onProgress: (progress: unknown) => process.connected && process.send?.({ type: 'progress', progress } satisfies ToParent) },
    );
    const usage = process.resourceUsage();
    finish({ type: 'done', result, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, gpuSeconds: gpuSeconds() }, 0);
  } catch (err) {
    const aborted = abort.signal.aborted;
    finish({ type: 'failed', message: err instanceof Error ? err.message : String(err), aborted }, aborted ? 0 : 1);
  }
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'run') void run(message);
  else if (message.type === 'abort') {
    abort.abort();
    // nothing started, nothing to save
    if (!started) finish({ type: 'failed', message: 'aborted before it started', aborted: true }, 0);
  }
});
// the parent is gone (killed, crashed): stop, keeping a training's checkpoint, rather than work unseen
process.on('disconnect', () => abort.abort());
// Ctrl-C reaches the terminal's whole process group: the parent's handler stops this child through
// 'abort' (checkpoint saved); dying here at once would lose the steps since the last checkpoint
process.on('SIGINT', () => {});
process.send?.({ type: 'ready' } satisfies ToParent);
