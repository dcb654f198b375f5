// The child process of one parallel training job (train-jobs.ts): it receives a trainPolicy job
// over IPC, runs it (the same trainPolicy as in-process runs, so the same seeded training), streams
// its progress, and answers with the losses and its own CPU seconds. All libtorch work of a Node
// process goes through one native compute thread, so parallel trainings need separate processes.
//
// An 'abort' message, or the parent going away, cancels the training at a safe point: the native
// trainer saves its checkpoint, so the parent's re-run continues from there.
import { join } from 'node:path';
import type { ToParent, ToWorker } from './train-jobs.js';
import { trainPolicy } from './train-policy.js';

const abort = new AbortController();
let started = false;

/** Sends the last message, then exits (once it is written: the parent reads it before 'close'). */
function finish(message: ToParent, code: number): void {
  if (!process.connected) process.exit(code);
  process.send?.(message, undefined, {}, () => process.exit(code));
}

async function train(dir: string, job: Extract<ToWorker, { type: 'train' }>['job']): Promise<void> {
  started = true;
  try {
    const losses = await trainPolicy(
      { path: (...parts) => join(dir, ...parts) },
      { ...job, signal: abort.signal, onProgress: (progress) => process.connected && process.send?.({ type: 'progress', progress } satisfies ToParent) },
    );
    const cpu = process.cpuUsage();
    finish({ type: 'done', losses, cpuSeconds: (cpu.user + cpu.system) / 1e6 }, 0);
  } catch (err) {
    const aborted = abort.signal.aborted;
    finish({ type: 'failed', message: err instanceof Error ? err.message : String(err), aborted }, aborted ? 0 : 1);
  }
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'train') void train(message.dir, message.job);
  else if (message.type === 'abort') {
    abort.abort();
    // nothing started, nothing to save
    if (!started) finish({ type: 'failed', message: 'aborted before it started', aborted: true }, 0);
  }
});
// the parent is gone (killed, crashed): stop, keeping the checkpoint, rather than train on unseen
process.on('disconnect', () => abort.abort());
// Ctrl-C reaches the terminal's whole process group: the parent's handler stops this child through
// 'abort' (checkpoint saved); dying here at once would lose the steps since the last checkpoint
process.on('SIGINT', () => {});
process.send?.({ type: 'ready' } satisfies ToParent);
