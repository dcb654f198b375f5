// What the method commands share (moalign paretohqd, ric, soups, sft-baseline): the config from
// --config and --task, progress bars for the method's events, Ctrl-C that keeps finished steps.
import type { Command } from 'commander';
import type { MethodEvent, MethodHooks } from '../methods/events.js';
import { readJsonFile } from '../util/json-file.js';
import { positiveInt } from './engine-common.js';
import { onInterrupt } from './interrupt.js';
import { formatSeconds, ProgressBar } from './progress.js';

export interface MethodCliOptions {
  config?: string;
  task?: string;
  out: string;
  overwrite: boolean;
  /** Only for a method with `jobs` (MethodCommand). */
  jobs?: number;
}

/** The options every method command takes; `--out` defaults to runs/<name>. */
export function methodOptions(command: Command, name: string, configDoc: string): Command {
  return command
    .option('--config <file>', `a JSON config (${configDoc})`)
    .option('--task <dir>', 'a built-in task folder (moalign task build), when no --config is given or to set its "task"')
    .option('--out <dir>', 'the run folder', `runs/${name}`)
    .option('--overwrite', 'replace a run folder that holds another config', false);
}

/** The config the options name: --config's file with --task (and --jobs) set over it. */
export function methodConfig(opts: MethodCliOptions): Record<string, unknown> {
  const config = opts.config ? (readJsonFile(opts.config) as Record<string, unknown>) : {};
  if (opts.task) config.task = opts.task;
  if (opts.jobs !== undefined) config.jobs = opts.jobs;
  if (config.task === undefined && config.data === undefined) throw new Error('give --task DIR (a built-in task folder) or --config FILE');
  return config;
}

/** One method's command. */
export interface MethodCommand<R> {
  /** moalign <name>. */
  name: string;
  description: string;
  /** --out's default: runs/<folder>. */
  folder: string;
  /** What --config's file holds. */
  configDoc: string;
  /** The method as the closing line names it. */
  label: string;
  /** The method's run in `out` (its module imported only when the command runs). */
  open(config: Record<string, unknown>, out: string, options: { overwrite: boolean }): Promise<{ runAll(hooks: MethodHooks): Promise<R> }>;
  /** What the closing line adds about the result. */
  summary?: (result: R) => string;
  /** The method trains in parallel jobs: --jobs <n> sets the config's "jobs". */
  jobs?: boolean;
}

/** Registers `moalign <name>`: the method's options, then its run with runMethod. */
export function registerMethod<R>(program: Command, m: MethodCommand<R>): void {
  const command = methodOptions(program.command(m.name).description(m.description), m.folder, m.configDoc);
  if (m.jobs) command.option('--jobs <n>', 'training runs (and generations) at a time, each in its own process with its share of the cores (the config\'s "jobs"; default 1)', positiveInt);
  command.action(async (opts: MethodCliOptions) => {
    const config = methodConfig(opts);
    await runMethod(m.label, opts.out, await m.open(config, opts.out, { overwrite: opts.overwrite }), m.summary);
  });
}

/**
 * Runs `method` with progress on stderr; Ctrl-C stops it at a safe point (exit code 130). The
 * closing line says how long it took, then `summary` of its result when given.
 */
export async function runMethod<R>(label: string, out: string, method: { runAll(hooks: MethodHooks): Promise<R> }, summary?: (result: R) => string): Promise<void> {
  const bars = new Map<string, ProgressBar>();
  const stopAll = () => {
    for (const b of bars.values()) b.stop();
  };
  const bar = (key: string, title: string, detail: string) => {
    let b = bars.get(key);
    if (!b) {
      stopAll();
      b = new ProgressBar(title, detail);
      bars.set(key, b);
    }
    return b;
  };
  using interrupt = onInterrupt('finished steps are kept and the same command continues', stopAll);
  const started = Date.now();
  const onProgress = (e: MethodEvent) => {
    if (e.kind === 'step') {
      stopAll();
      process.stderr.write(`moalign: ${e.message}\n`);
    } else if (e.kind === 'train') {
      const p = e.progress;
      const stage = e.stage !== undefined ? `stage ${e.stage} ` : '';
      // parallel runs: one bar for them all (its title fixed, so it is never replaced mid-way)
      const [title, detail] =
        e.jobs !== undefined ? [`${stage}${e.name} step`, `{done}/${e.of} done | loss {loss} | {tps} tok/s`] : [`${stage}${e.name} (${e.index + 1}/${e.of}) step`, 'loss {loss} | {tps} tok/s'];
      bar(`train-${title}`, title, detail).update(p.step, p.steps, {
        done: e.index,
        loss: p.loss.toFixed(3),
        tps: Math.round(p.tokensPerSecond),
        remaining: formatSeconds(p.etaSeconds),
      });
    } else if (e.kind === 'generate') {
      // parallel models: one bar for them all, as for training
      const detail = e.jobs !== undefined ? `${e.name} | {models}/${e.of} done` : e.index !== undefined ? `${e.name} (${e.index + 1}/${e.of})` : e.name;
      bar(`gen-${e.name}`, 'generated', detail).update(e.done, e.total, { models: e.index ?? 0, remaining: formatSeconds(e.etaSeconds) });
    } else if (e.kind === 'score') {
      bar('score', 'scored', 'responses').update(e.done, e.total);
    } else if (e.progress.phase === 'generate') {
      const p = e.progress;
      bar('eval', 'evaluated', 'ω {i}/{n}').update(p.done, p.total, { i: p.policy + 1, n: p.policies, remaining: formatSeconds(p.etaSeconds) });
    } else {
      bar('eval-score', 'scored', '{scorer}').update(e.progress.done, e.progress.total, { scorer: e.progress.scorer });
    }
  };
  try {
    const result = await method.runAll({ signal: interrupt.signal, onProgress });
    stopAll();
    const took = formatSeconds((Date.now() - started) / 1000);
    process.stderr.write(`moalign: ${label} run in ${out} done (${summary ? `${took}; ${summary(result)}` : took}); compare it with: moalign compare ${out}\n`);
  } catch (err) {
    if (!interrupt.signal.aborted) throw err;
    process.exitCode = 130;
  } finally {
    stopAll();
  }
}
