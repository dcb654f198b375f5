import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatSeconds, ProgressBar } from './progress.js';
import { onInterrupt } from './interrupt.js';

interface ParetoHqdCliOptions {
  config?: string;
  task?: string;
  out: string;
  overwrite: boolean;
}

export function registerParetoHqd(program: Command): void {
  program
    .command('paretohqd')
    .description(
      'ParetoHqD: one model per preference, two stages of SFT on Pareto high-quality data (stage 1 on the pool, stage 2 on responses of the ' +
        'representative stage-1 models), then the evaluation on the test prompts. Writes a run folder; the same command again continues where it stopped.',
    )
    .option('--config <file>', 'a JSON config (see ParetoHqdConfig: task or data, preferences, selection, training, augmentation, evaluation)')
    .option('--task <dir>', 'a built-in task folder (moalign task build), when no --config is given or to set its "task"')
    .option('--out <dir>', 'the run folder', 'runs/paretohqd')
    .option('--overwrite', 'replace a run folder that holds another config', false)
    .action(async (opts: ParetoHqdCliOptions) => {
      const config = opts.config ? (JSON.parse(readFileSync(opts.config, 'utf8')) as Record<string, unknown>) : {};
      if (opts.task) config.task = opts.task;
      if (config.task === undefined && config.data === undefined) throw new Error('give --task DIR (a built-in task folder) or --config FILE');
      const { ParetoHqD } = await import('../methods/paretohqd/index.js');
      const method = new ParetoHqD(config, opts.out, { overwrite: opts.overwrite });
      const bars = new Map<string, ProgressBar>();
      const bar = (key: string, label: string, detail: string) => {
        let b = bars.get(key);
        if (!b) {
          for (const other of bars.values()) other.stop();
          b = new ProgressBar(label, detail);
          bars.set(key, b);
        }
        return b;
      };
      using interrupt = onInterrupt('finished steps are kept and the same command continues', () => {
        for (const b of bars.values()) b.stop();
      });
      const started = Date.now();
      try {
        await method.runAll({
          signal: interrupt.signal,
          onProgress: (e) => {
            if (e.kind === 'step') {
              for (const b of bars.values()) b.stop();
              process.stderr.write(`moalign: ${e.message}\n`);
            } else if (e.kind === 'train') {
              const p = e.progress;
              bar(`train-${e.stage}-${e.index}`, `stage ${e.stage} ω ${e.index + 1}/${e.of} step`, 'loss {loss} | {tps} tok/s').update(p.step, p.steps, {
                loss: p.loss.toFixed(3),
                tps: Math.round(p.tokensPerSecond),
                remaining: formatSeconds(p.etaSeconds),
              });
            } else if (e.kind === 'generate') {
              bar(`gen-${e.preference.join(',')}`, 'generated', 'ω ({w})').update(e.done, e.total, { w: e.preference.map((x) => x.toFixed(2)).join(', ') });
            } else if (e.kind === 'score') {
              bar('score', 'scored', 'responses').update(e.done, e.total);
            } else if (e.progress.phase === 'generate') {
              const p = e.progress;
              bar('eval', 'evaluated', 'ω {i}/{n}').update(p.done, p.total, { i: p.policy + 1, n: p.policies, remaining: formatSeconds(p.etaSeconds) });
            } else {
              bar('eval-score', 'scored', '{scorer}').update(e.progress.done, e.progress.total, { scorer: e.progress.scorer });
            }
          },
        });
        for (const b of bars.values()) b.stop();
        process.stderr.write(`moalign: ParetoHqD run in ${opts.out} done (${formatSeconds((Date.now() - started) / 1000)}); compare it with: moalign compare ${opts.out}\n`);
      } catch (err) {
        if (!interrupt.signal.aborted) throw err;
        process.exitCode = 130;
      } finally {
        for (const b of bars.values()) b.stop();
      }
    });
}
