// `moalign compare`: evaluated runs side by side, their metrics recomputed in one shared
// normalised space, as a table on stdout and a self-contained HTML report.
import type { Command } from 'commander';
import { nonNegativeNumber, positiveInt } from './engine-common.js';

interface CompareCliOptions {
  out: string;
  hvMargin: number;
  samples: number;
  json: boolean;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      'compare evaluated runs (moalign eval): HV, IP, sparsity and spacing recomputed in the space normalised over every run\'s points, ' +
        'collapse rate and time, printed as a table; writes a self-contained HTML report with the fronts, the table, the task pool, ' +
        'training curves (a run\'s train-curves.json) and sample responses per preference side by side.',
    )
    .argument('<runs...>', 'run folders, each with eval/record.json')
    .option('--out <file>', 'the HTML report', 'report.html')
    .option('--hv-margin <d>', 'δ below each objective\'s pooled minimum (0: the worst point sits on the reference point)', nonNegativeNumber, 0.1)
    .option('--samples <n>', 'sample prompts shown per preference in the report', positiveInt, 3)
    .option('--json', 'print the comparison as JSON on stdout instead of the table', false)
    .action(async (runs: string[], opts: CompareCliOptions) => {
      const { compareRuns, comparisonJson, comparisonTable } = await import('../report/compare.js');
      const { writeComparisonReport } = await import('../report/html.js');
      const comparison = compareRuns(runs, { hvMargin: opts.hvMargin });
      for (const w of comparison.warnings) process.stderr.write(`moalign: warning: ${w}\n`);
      await writeComparisonReport(opts.out, comparison, { samplesPerPreference: opts.samples });
      process.stdout.write(opts.json ? `${JSON.stringify(comparisonJson(comparison), null, 2)}\n` : comparisonTable(comparison));
      process.stderr.write(`moalign: report written to ${opts.out}\n`);
    });
}
