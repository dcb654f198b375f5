import type { Command } from 'commander';
import { registerMethod } from './method-command.js';

export function registerSoups(program: Command): void {
  registerMethod(program, {
    name: 'soups',
    description:
      'Rewarded Soups: one expert per objective trained from the same base model (SFT on the top 10% of the pool by that objective), then one ' +
      'model per preference by interpolating the experts\' weights (merged LoRA deltas), then the evaluation on the test prompts. Writes a run ' +
      'folder; the same command again continues where it stopped.',
    folder: 'soups',
    configDoc: 'see SoupsConfig: task or data, preferences, expertTrainer, topFraction, interpolation, training, evaluation',
    label: 'Rewarded Soups',
    open: async (config, out, options) => new (await import('../methods/soups/index.js')).RewardedSoups(config, out, options),
    summary: (p) => `experts trained by ${p.expertTrainer}, ${p.interpolation} interpolation`,
  });
}
