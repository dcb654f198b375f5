// `moalign select`: ParetoHqD's Pareto high-quality data selection on a scored dataset. Writes
// the selection record, one JSONL of selected samples per preference, and an SVG of the selection.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { SelectionBounds } from '../moo/select.js';
import { positiveInt } from './engine-common.js';

interface SelectCliOptions {
  data: string;
  preferences: string;
  k: number;
  out: string;
  bounds: SelectionBounds;
  distance: 'perpendicular' | 'angular';
  paretoLayers?: number;
  paretoPoolMin?: number;
  onInvalid: 'error' | 'skip';
  overwrite?: boolean;
}

/** The files a selection writes into --out: what --overwrite may replace. */
const OUTPUT_FILE = /^(selection\.json|selection\.svg|pref-\d+\.jsonl)$/;

const BOUNDS_FORMS = '"minmax", "qLO,HI" with 0 <= LO < HI <= 1 (e.g. q0.001,0.999), or fixed bounds "LO1,LO2,...:HI1,HI2,..." (e.g. -2,0:3,1.5)';

/** Comma-separated numbers; undefined when one is not a number. */
function numberList(text: string): number[] | undefined {
  const values = text.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
  return values.every(Number.isFinite) ? values : undefined;
}

/**
 * --bounds: "minmax"; "qLO,HI" for the LO and HI quantiles (e.g. q0.001,0.999); or fixed bounds
 * "LO1,LO2,...:HI1,HI2,..." in objective order (their count and hi > lo are checked by the selection,
 * which knows the objectives and names them).
 */
export function parseBounds(value: string): SelectionBounds {
  const v = value.trim();
  if (v === 'minmax') return 'minmax';
  if (v.includes(':')) {
    const [lo, hi, ...rest] = v.split(':').map(numberList);
    if (lo === undefined || hi === undefined || rest.length > 0) throw new InvalidArgumentError(`fixed bounds must be finite numbers; expected ${BOUNDS_FORMS}`);
    if (lo.length !== hi.length) throw new InvalidArgumentError(`fixed bounds hold ${lo.length} lo and ${hi.length} hi values; expected ${BOUNDS_FORMS}`);
    return { lo, hi };
  }
  const q = /^q([^,]+),(.+)$/.exec(v);
  const [lowerQuantile, upperQuantile] = q ? [Number(q[1]), Number(q[2])] : [Number.NaN, Number.NaN];
  if (!(lowerQuantile >= 0 && upperQuantile <= 1 && lowerQuantile < upperQuantile)) {
    throw new InvalidArgumentError(`expected ${BOUNDS_FORMS}`);
  }
  return { lowerQuantile, upperQuantile };
}

export function registerSelect(program: Command): void {
  program
    .command('select')
    .description(
      "ParetoHqD's Pareto high-quality data selection: keep the top Pareto layers of a scored dataset (at least N_min = max(20·k·|preferences|, 5000) " +
        'samples), normalise the rewards to [0, 1], and for each preference take the k samples nearest to the ray from the ideal point toward it. ' +
        'Writes OUT/selection.json (the record), OUT/pref-<i>.jsonl (the selected scored samples of preference i, nearest first) and OUT/selection.svg.',
    )
    .requiredOption('--data <file>', 'the scored dataset (JSONL or Parquet) from moalign score-data or task build')
    .option(
      '--preferences <spec>',
      'grid:N (two objectives), paretohqd or ric13 (three), dasDennis:H (any), or a list like "0.2,0.8;0.5,0.5" (1/3 allowed); default: grid:11 for two objectives, paretohqd for three',
      'default',
    )
    .option('--k <n>', 'samples per preference', positiveInt, 100)
    .requiredOption('--out <dir>', 'output folder (refused when not empty, unless --overwrite)')
    .option('--bounds <how>', 'normalisation bounds: minmax; qLO,HI for quantiles (e.g. q0.001,0.999); or LO1,LO2,...:HI1,HI2,... for fixed bounds per objective. Rewards beyond quantile or fixed bounds are clamped', parseBounds, 'minmax' as SelectionBounds)
    .addOption(new Option('--distance <kind>', 'distance to a preference ray').choices(['perpendicular', 'angular']).default('perpendicular'))
    .option('--pareto-layers <L>', 'use exactly the top L Pareto layers instead of the N_min rule', positiveInt)
    .option('--pareto-pool-min <n>', 'N_min: the fewest top layers holding at least n samples (default max(20·k·|preferences|, 5000))', positiveInt)
    .addOption(new Option('--on-invalid <what>', 'an invalid record in --data: stop with an error, or skip it').choices(['error', 'skip']).default('error'))
    .option('--overwrite', "replace an earlier selection in --out (its selection.json, selection.svg and pref-<i>.jsonl files)")
    .action(select);
}

async function select(opts: SelectCliOptions): Promise<void> {
  await checkOut(opts.out, opts.overwrite ?? false);
  // loaded here, not at start-up: the readers pull in Parquet, which other commands do not need
  const { readScoredDataset, writeScoredDataset } = await import('../data/dataset.js');
  const { parsePreferences, formatPreference } = await import('../moo/preferences.js');
  const { selectParetoHqWithRanks } = await import('../moo/select.js');
  const { selectionSvg } = await import('../report/selection.js');
  const { writeTextAtomic } = await import('../util/atomic-file.js');

  const { dataset, report } = await readScoredDataset(opts.data, { onInvalid: opts.onInvalid });
  const m = dataset.objectives.length;
  const skipped = report.skipped.length > 0 ? `; skipped ${report.skipped.length} invalid` : '';
  const duplicates = report.duplicates > 0 ? `; removed ${report.duplicates} duplicates` : '';
  say(`read ${dataset.size} samples from ${opts.data} (objectives: ${dataset.objectives.join(', ')})${skipped}${duplicates}`);
  const preferences = parsePreferences(opts.preferences, m);

  const started = performance.now();
  const { record, ranks } = await selectParetoHqWithRanks(dataset, preferences, {
    k: opts.k,
    bounds: opts.bounds,
    distance: opts.distance,
    paretoLayers: opts.paretoLayers,
    paretoPoolMin: opts.paretoPoolMin,
    onWarning: (w) => say(`warning: ${w}`),
  });
  const seconds = (performance.now() - started) / 1000;

  await mkdir(opts.out, { recursive: true });
  if (opts.overwrite) {
    for (const name of await readdir(opts.out)) if (OUTPUT_FILE.test(name)) await rm(join(opts.out, name), { force: true });
  }
  const rule = record.options.paretoLayers !== null ? `--pareto-layers ${record.options.paretoLayers}` : `N_min ${record.options.paretoPoolMin}`;
  const bounds = describeBounds(record.options.bounds);
  say(`candidates: ${record.candidates} samples in the top ${record.layers} Pareto layers (${rule}); bounds ${bounds}; selected in ${seconds.toFixed(2)} s`);
  for (const [p, s] of record.selections.entries()) {
    s.file = `pref-${p}.jsonl`;
    await writeScoredDataset(join(opts.out, s.file), dataset.subset(s.indices), { format: 'jsonl' });
    const fronts = s.fronts.length > 0 ? `fronts ${Math.min(...s.fronts)}–${Math.max(...s.fronts)}` : 'none';
    say(`  ω = ${formatPreference(s.preference)}: ${s.indices.length} samples, distance ≤ ${formatDistance(s.distances.at(-1) ?? 0)}, ${fronts} -> ${s.file}`);
  }
  await writeTextAtomic(join(opts.out, 'selection.json'), `${JSON.stringify(record, null, 2)}\n`);
  await writeTextAtomic(join(opts.out, 'selection.svg'), selectionSvg(dataset.rewards, record, ranks));
  say(`wrote ${join(opts.out, 'selection.json')}, ${join(opts.out, 'selection.svg')} and ${record.selections.length} pref-<i>.jsonl files`);
}

const formatDistance = (d: number) => (d === 0 ? '0' : d.toPrecision(3));

function say(line: string): void {
  process.stderr.write(`moalign: ${line}\n`);
}

/** --out must be a folder that is absent or empty, unless --overwrite. */
async function checkOut(out: string, overwrite: boolean): Promise<void> {
  const info = await stat(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (info === undefined) return;
  if (!info.isDirectory()) throw new Error(`--out ${out} is a file; it must be a folder`);
  if (!overwrite && (await readdir(out)).length > 0) throw new Error(`--out ${out} is not empty; pass --overwrite to replace an earlier selection there`);
}

function describeBounds(bounds: SelectionBounds): string {
  if (bounds === 'minmax') return 'min-max';
  if ('lo' in bounds) return `fixed lo ${bounds.lo.join(', ')}, hi ${bounds.hi.join(', ')}`;
  return `quantiles ${bounds.lowerQuantile}, ${bounds.upperQuantile}`;
}
