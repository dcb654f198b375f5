import type { Command } from 'commander';
import { paretoRanks } from '../moo/pareto.js';
import { parsePointsText } from '../moo/points-text.js';
import { readInput } from './input.js';

export function registerPareto(program: Command): void {
  program
    .command('pareto')
    .description("each point's Pareto rank, one per line (1 = non-dominated)")
    .argument('[FILE]', 'points, one per line, numbers separated by commas, tabs or spaces (default: stdin)')
    .option('--minimize, --minimise', 'minimise every objective (default: maximise)')
    .action((file: string | undefined, opts: { minimise?: boolean }) => {
      const { sets } = parsePointsText(readInput(file));
      const ranks = paretoRanks(sets[0], { minimise: opts.minimise ?? false });
      process.stdout.write(Array.from(ranks, (r) => `${r}\n`).join(''));
    });
}
