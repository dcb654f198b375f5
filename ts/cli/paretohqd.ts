import type { Command } from 'commander';
import { registerMethod } from './method-command.js';

export function registerParetoHqd(program: Command): void {
  registerMethod(program, {
    name: 'paretohqd',
    description:
      'ParetoHqD: one model per preference, two stages of SFT on Pareto high-quality data (stage 1 on the pool, stage 2 on responses of the ' +
      'representative stage-1 models), then the evaluation on the test prompts. Writes a run folder; the same command again continues where it stopped.',
    folder: 'paretohqd',
    configDoc: 'see ParetoHqdConfig: task or data, preferences, selection, training, augmentation, evaluation',
    label: 'ParetoHqD',
    jobs: true,
    open: async (config, out, options) => new (await import('../methods/paretohqd/index.js')).ParetoHqD(config, out, options),
  });
}
