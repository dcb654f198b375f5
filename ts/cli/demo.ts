import { Option, type Command } from 'commander';
import { nonNegativeInt } from './engine-common.js';
import { onInterrupt } from './interrupt.js';
import { formatSeconds, ProgressBar } from './progress.js';

interface DemoCliOptions {
  out: string;
  objectives: '2' | '3';
  quick: boolean;
  gpu: boolean;
  overwrite: boolean;
  seed: number;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job: build the built-in task (or reuse it), train and evaluate ParetoHqD, Panacea, RiC, Rewarded Soups and plain SFT on it with the same ' +
        'protocol, print the comparison table and write report.html with every front. Re-running continues where it stopped.',
    )
    .option('--out <dir>', 'where the task, the runs and the report go', 'moalign-demo')
    .addOption(new Option('--objectives <n>', '2: positivity, fidelity; 3: + conciseness').choices(['2', '3']).default('2'))
    .option('--quick', 'a first look in a few minutes: a smaller model, task and training, 5 preferences', false)
    .option('--gpu', 'use CUDA when libtorch has it', false)
    .option('--seed <n>', 'the training seed of every method (the task and the decoding seeds stay fixed); use another --out per seed', nonNegativeInt, 0)
    .option('--overwrite', 'replace a task or run folder in --out that was built with other settings', false)
    .action(async (opts: DemoCliOptions) => {
      const { runDemo } = await import('../demo/demo.js');
      let bar: ProgressBar | undefined;
      let barKey = '';
      const show = (key: string, label: string, detail: string) => {
        if (key !== barKey) {
          bar?.stop();
          bar = new ProgressBar(label, detail);
          barKey = key;
        }
        return bar as ProgressBar;
      };
      const stopBar = () => {
        bar?.stop();
        bar = undefined;
        barKey = '';
      };
      using interrupt = onInterrupt('finished steps are kept; the same command continues', stopBar);
      const started = Date.now();
      try {
        const result = await runDemo(
          { out: opts.out, objectives: Number(opts.objectives) as 2 | 3, quick: opts.quick, gpu: opts.gpu, overwrite: opts.overwrite, seed: opts.seed },
          {
            signal: interrupt.signal,
            onEvent: (e) => {
              switch (e.kind) {
                case 'part':
                  stopBar();
                  process.stderr.write(`\nmoalign demo: ${e.message}\n`);
                  break;
                case 'step':
                  stopBar();
                  process.stderr.write(`moalign: ${e.message}\n`);
                  break;
                case 'train':
                  show(`${e.part}:${e.label}`, `${e.part} ${e.label}`, 'loss {loss} | {tps} tok/s').update(e.progress.step, e.progress.steps, {
                    loss: e.progress.loss.toFixed(3),
                    tps: Math.round(e.progress.tokensPerSecond),
                    remaining: formatSeconds(e.progress.etaSeconds),
                  });
                  break;
                case 'sample':
                  show(`${e.part}:sample`, 'sampled prompts', '{tps} tok/s').update(e.progress.done, e.progress.total, {
                    tps: Math.round(e.progress.tokensPerSecond),
                    remaining: formatSeconds(e.progress.etaSeconds),
                  });
                  break;
                case 'generate':
                  show(`${e.part}:generate`, `${e.part} ${e.label}`, 'prompts').update(e.done, e.total);
                  break;
                case 'evaluate':
                  if (e.progress.phase === 'generate')
                    show(`${e.part}:eval`, `${e.part} evaluated`, 'ω {i}/{n}').update(e.progress.done, e.progress.total, {
                      i: e.progress.policy + 1,
                      n: e.progress.policies,
                      remaining: formatSeconds(e.progress.etaSeconds),
                    });
                  break;
              }
            },
          },
        );
        stopBar();
        process.stdout.write(`${result.table}\n`);
        const parts = Object.entries(result.seconds)
          .map(([k, v]) => `${k} ${formatSeconds(v)}`)
          .join(', ');
        process.stderr.write(`\nmoalign demo: done in ${formatSeconds((Date.now() - started) / 1000)} (${parts}); report: ${result.report}\n`);
      } catch (err) {
        if (!interrupt.signal.aborted) throw err;
        process.exitCode = 130;
      } finally {
        stopBar();
      }
    });
}
