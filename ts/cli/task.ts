import type { Command } from 'commander';
import { Option } from 'commander';
import { commaList, positiveInt } from './engine-common.js';
import { formatSeconds, ProgressBar } from './progress.js';
import { onInterrupt } from './interrupt.js';

interface TaskBuildCliOptions {
  objectives: '2' | '3';
  out: string;
  overwrite: boolean;
  trainPrompts?: number;
  testPrompts?: number;
  pretrainSteps?: number;
  temperatures?: string[];
  json: boolean;
}

export function registerTask(program: Command): void {
  const task = program.command('task').description('the built-in task: real text (the Brown corpus), a tiny base model, and a scored response pool');
  task
    .command('build')
    .description(
      'build the built-in task: a BPE tokenizer and a tiny GPT-2 pretrained on the Brown corpus (cached in the user cache folder), prompts from held-out ' +
        "sentences, a pool of responses (the corpus's continuations and base-model samples) scored on conflicting objectives, the conflict measured, and " +
        'the reward distribution drawn as SVG. Re-running the same command continues where it stopped.',
    )
    .addOption(new Option('--objectives <n>', '2: positivity, fidelity; 3: + conciseness').choices(['2', '3']).default('2'))
    .option('--out <dir>', 'task folder', 'moalign-task')
    .option('--overwrite', 'replace a task folder built with other settings', false)
    .option('--train-prompts <n>', 'training prompts (the pool has about 4 responses each; default 2000)', positiveInt)
    .option('--test-prompts <n>', 'test prompts (default 300)', positiveInt)
    .option('--pretrain-steps <n>', 'base-model pretraining steps (default 700)', positiveInt)
    .option('--temperatures <a,b,c>', 'sampling temperatures of the pool (default 0.7,1.0,1.3)', commaList)
    .option('--json', 'print the task manifest as JSON on stdout', false)
    .action(async (opts: TaskBuildCliOptions) => {
      const { buildTask, DEFAULT_TASK } = await import('../task/build.js');
      const temperatures = opts.temperatures?.map(Number);
      if (temperatures?.some((t) => !(t > 0))) throw new Error(`--temperatures must be positive numbers, got ${opts.temperatures?.join(',')}`);
      const settings = {
        objectives: Number(opts.objectives) as 2 | 3,
        prompts: { ...DEFAULT_TASK.prompts, train: opts.trainPrompts ?? DEFAULT_TASK.prompts.train, test: opts.testPrompts ?? DEFAULT_TASK.prompts.test },
        baseModel: { ...DEFAULT_TASK.baseModel, training: { ...DEFAULT_TASK.baseModel.training, steps: opts.pretrainSteps ?? DEFAULT_TASK.baseModel.training.steps } },
        pool: { ...DEFAULT_TASK.pool, temperatures: temperatures ?? DEFAULT_TASK.pool.temperatures },
      };
      const train = new ProgressBar('pretraining step', 'loss {loss} | {tps} tok/s');
      const sample = new ProgressBar('sampled prompts', '{tps} tok/s');
      using interrupt = onInterrupt('finished steps are kept and the same command continues', () => {
        train.stop();
        sample.stop();
      });
      const started = Date.now();
      try {
        const manifest = await buildTask(opts.out, settings, {
          overwrite: opts.overwrite,
          signal: interrupt.signal,
          onStep: (_step, message) => process.stderr.write(`moalign: ${message}\n`),
          onPretrainProgress: (p) =>
            train.update(p.step, p.steps, { loss: p.loss.toFixed(3), tps: Math.round(p.tokensPerSecond), remaining: formatSeconds(p.etaSeconds) }),
          onPoolProgress: (p) => sample.update(p.done, p.total, { tps: Math.round(p.tokensPerSecond), remaining: formatSeconds(p.etaSeconds) }),
        });
        train.stop();
        sample.stop();
        if (opts.json) process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
        const c = manifest.conflict;
        const pair = (i: number, j: number) => `${c.objectives[i]}–${c.objectives[j]}: Pearson ${c.pearson[i][j].toFixed(3)}, Spearman ${c.spearman[i][j].toFixed(3)}, within prompt ${c.withinPromptPearson[i][j].toFixed(3)}`;
        const pairs: string[] = [];
        for (let i = 0; i < c.objectives.length; i++) for (let j = i + 1; j < c.objectives.length; j++) pairs.push(`  ${pair(i, j)}`);
        process.stderr.write(
          [
            `moalign: task built in ${opts.out} (${formatSeconds((Date.now() - started) / 1000)})`,
            `  base model: held-out loss ${manifest.baseModel.heldOutLoss.initial.toFixed(3)} -> ${manifest.baseModel.heldOutLoss.final.toFixed(3)} nats/token${manifest.baseModel.cached ? ' (from the cache)' : ''}`,
            `  prompts: ${manifest.prompts.train} train, ${manifest.prompts.test} test; pool: ${manifest.pool.samples} scored responses`,
            `  objectives: ${manifest.objectives.map((o) => o.name).join(', ')}`,
            ...pairs,
            `  Pareto layers: ${c.layers.count}; layer 1 holds ${c.layers.first} points; layers 1–3 ${(100 * c.layers.top3Share).toFixed(1)}%, 1–10 ${(100 * c.layers.top10Share).toFixed(1)}% of the pool`,
            '',
          ].join('\n'),
        );
      } catch (err) {
        if (!interrupt.signal.aborted) throw err;
        process.exitCode = 130;
      } finally {
        train.stop();
        sample.stop();
      }
    });
}
