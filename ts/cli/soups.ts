import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatSeconds, ProgressBar } from './progress.js';
import { onInterrupt } from './interrupt.js';

interface SoupsCliOptions {
  config?: string;
  task?: string;
  out: string;
  overwrite: boolean;
}

export function registerSoups(program: Command): void {
  program
    .command('soups')
    .description(
      'Rewarded Soups: one expert per objective trained from the same base model (SFT on the top 10% of the pool by that objective), then one ' +
        'model per preference by interpolating the experts\' weights (merged LoRA deltas), then the evaluation on the test prompts. Writes a run ' +
        'folder; the same command again continues where it stopped.',
    )
    .option('--config <file>', 'a JSON config (see SoupsConfig: task or data, preferences, expertTrainer, topFraction, interpolation, training, evaluation)')
    .option('--task <dir>', 'a built-in task folder (moalign task build), when no --config is given or to set its "task"')
    .option('--out <dir>', 'the run folder', 'runs/soups')
    .option('--overwrite', 'replace a run folder that holds another config', false)
    .action(async (opts: SoupsCliOptions) => {
      const config = opts.config ? (JSON.parse(readFileSync(opts.config, 'utf8')) as Record<string, unknown>) : {};
      if (opts.task) config.task = opts.task;
      if (config.task === undefined && config.data === undefined) throw new Error('give --task DIR (a built-in task folder) or --config FILE');
      const { RewardedSoups } = await import('../methods/soups/index.js');
      const method = new RewardedSoups(config, opts.out, { overwrite: opts.overwrite });
      const bars = new Map<string, ProgressBar>();
      const stopBars = () => {
        for (const b of bars.values()) b.stop();
      };
      const bar = (key: string, label: string, detail: string) => {
        let b = bars.get(key);
        if (!b) {
          stopBars();
          b = new ProgressBar(label, detail);
          bars.set(key, b);
        }
        return b;
      };
      using interrupt = onInterrupt('finished steps are kept and the same command continues', stopBars);
      const started = Date.now();
      try {
        const policies = await method.runAll({
          signal: interrupt.signal,
          onProgress: (e) => {
            if (e.kind === 'step') {
              stopBars();
              process.stderr.write(`moalign: ${e.message}\n`);
            } else if (e.kind === 'train') {
              const p = e.progress;
              bar(`train-${e.index}`, `expert ${e.index + 1}/${e.of} (${e.objective}) step`, 'loss {loss} | {tps} tok/s').update(p.step, p.steps, {
                loss: p.loss.toFixed(3),
                tps: Math.round(p.tokensPerSecond),
                remaining: formatSeconds(p.etaSeconds),
              });
            } else if (e.progress.phase === 'generate') {
              const p = e.progress;
              bar('eval', 'evaluated', 'ω {i}/{n}').update(p.done, p.total, { i: p.policy + 1, n: p.policies, remaining: formatSeconds(p.etaSeconds) });
            } else {
              bar('eval-score', 'scored', '{scorer}').update(e.progress.done, e.progress.total, { scorer: e.progress.scorer });
            }
          },
        });
        stopBars();
        process.stderr.write(
          `moalign: Rewarded Soups run in ${opts.out} done (${formatSeconds((Date.now() - started) / 1000)}; experts trained by ${policies.expertTrainer}, ` +
            `${policies.interpolation} interpolation); compare it with: moalign compare ${opts.out}\n`,
        );
      } catch (err) {
        if (!interrupt.signal.aborted) throw err;
        process.exitCode = 130;
      } finally {
        stopBars();
      }
    });
}
