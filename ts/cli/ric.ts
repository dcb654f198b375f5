import type { Command } from 'commander';
import { registerMethod } from './method-command.js';

export function registerRic(program: Command): void {
  registerMethod(program, {
    name: 'ric',
    description:
      'RiC (Rewards-in-Context): one model for every preference. SFT on the whole pool with each prompt carrying its sample\'s z-scored rewards ' +
      '(" <rm1_score> 1.7 <rm2_score> -0.9" and a newline before the response; " <1> 1.7 <2> -0.9" on the built-in task), optional online ' +
      'rejection-sampling rounds, then the evaluation: ' +
      "each preference's target scores are written into the test prompts. Writes a run folder; the same command again continues where it stopped.",
    folder: 'ric',
    configDoc: 'see RicConfig: task or data, preferences, targetMapping, targetBounds, promptFormat, training, online, evaluation',
    label: 'RiC',
    open: async (config, out, options) => new (await import('../methods/ric/index.js')).RiC(config, out, options),
  });
}
