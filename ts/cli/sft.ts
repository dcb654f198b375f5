import type { Command } from 'commander';
import { methodConfig, type MethodCliOptions, methodOptions, runMethod } from './method-command.js';

export function registerSftBaseline(program: Command): void {
  methodOptions(
    program
      .command('sft-baseline')
      .description(
        'The plain SFT baseline: one model fine-tuned on the whole pool with plain prompts, listed under every preference and evaluated like the ' +
          'other methods (its front is one point). Writes a run folder; the same command again continues where it stopped. ' +
          '(moalign train sft fine-tunes one model on a file you give.)',
      ),
    'sft',
    'see SftBaselineConfig: task or data, preferences, training, evaluation',
  ).action(async (opts: MethodCliOptions) => {
    const config = methodConfig(opts);
    const { SftBaseline } = await import('../methods/sft/index.js');
    await runMethod('SFT baseline', opts.out, new SftBaseline(config, opts.out, { overwrite: opts.overwrite }));
  });
}
