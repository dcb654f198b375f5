import type { Command } from 'commander';
import { registerMethod } from './method-command.js';

export function registerSftBaseline(program: Command): void {
  registerMethod(program, {
    name: 'sft-baseline',
    description:
      'The plain SFT baseline: one model fine-tuned on the whole pool with plain prompts, listed under every preference and evaluated like the ' +
      'other methods (its front is one point). Writes a run folder; the same command again continues where it stopped. ' +
      '(moalign train sft fine-tunes one model on a file you give.)',
    folder: 'sft',
    configDoc: 'see SftBaselineConfig: task or data, preferences, training, evaluation',
    label: 'SFT baseline',
    open: async (config, out, options) => new (await import('../methods/sft/index.js')).SftBaseline(config, out, options),
  });
}
