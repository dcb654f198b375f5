import type { Command } from 'commander';
import { hypervolume, hypervolumeBatch } from '../moo/hypervolume.js';
import { parseNumberList, parsePointsText } from '../moo/points-text.js';
import { readInput } from './input.js';

interface HvOptions {
  ref: string;
  minimise?: boolean;
  batch?: boolean;
  json?: boolean;
}

export function registerHv(program: Command): void {
  program
    .command('hv')
    .description('exact hypervolume of the points in FILE (or stdin): one value per set, full double precision')
    .argument('[FILE]', 'points, one per line, numbers separated by commas, tabs or spaces (default: stdin)')
    .requiredOption('--ref <a,b,...>', 'reference point, one value per objective')
    .option('--minimize, --minimise', 'minimise every objective (default: maximise)')
    .option('--batch', 'several sets, separated by blank lines; one hypervolume per set')
    .option('--json', 'print {m, ref, minimise, sets: [{n, hypervolume, dropped}]} as JSON')
    .action(async (file: string | undefined, opts: HvOptions) => {
      const ref = parseNumberList(opts.ref, '--ref');
      const { sets, m } = parsePointsText(readInput(file), { batch: opts.batch });
      if (m !== 0 && m !== ref.length) throw new Error(`--ref has ${ref.length} values but the points have ${m} objectives`);
      const minimise = opts.minimise ?? false;
      const common = { ref, minimise, onOutside: 'ignore' as const };
      let values: { hypervolume: number; dropped: number }[];
      if (opts.batch) {
        const r = await hypervolumeBatch(sets, common);
        values = Array.from(r.hypervolume, (hypervolume, b) => ({ hypervolume, dropped: r.dropped[b] }));
      } else {
        values = [hypervolume(sets[0], common)];
      }
      values.forEach((v, b) => {
        if (v.dropped > 0) {
          const where = opts.batch ? `set ${b + 1}: ` : '';
          process.stderr.write(`moalign: ${where}${v.dropped} of ${sets[b].length} points do not strictly dominate the reference point and add nothing\n`);
        }
      });
      if (opts.json) {
        const out = { m: ref.length, ref, minimise, sets: values.map((v, b) => ({ n: sets[b].length, ...v })) };
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } else {
        process.stdout.write(values.map((v) => `${String(v.hypervolume)}\n`).join(''));
      }
    });
}
