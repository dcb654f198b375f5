// ParetoHqD selection benchmark: moalign's full selection (bounds, Pareto layers with the early
// stop, distances to 11 preference rays, top k = 100 each) against the same selection in NumPy
// with moocore's non-dominated sorting, on the same 320,000-sample pools, in one run. Prints a
// table, writes bench/results/selection.json. Never run by tests or CI.
//
//   npm run bench -- selection [--repeats N] [--samples N] [--out FILE] [--keep-data]
//
// The pools imitate HH-RLHF scored by reward models: 160,000 prompts with two responses each; a
// prompt effect shared by every objective (a hard prompt lowers all rewards), a per-response
// trade-off that raises one objective and lowers the others (the conflict), noise, a heavy lower
// tail on harmlessness, a bimodal humour classifier for the third objective, and every reward
// rounded to bfloat16 as reward models in bf16 produce them (so many rewards tie exactly). They are
// generated once from a fixed seed and written as raw little-endian float64 files that
// bench/selection_baseline.py reads.
//
// Both sides compute the same arithmetic in the same order, so the selected rows must be the
// same, exactly; the script fails otherwise. Timings: the median of `repeats` repeats after a
// warm-up, a repeat being as many back-to-back calls as take about REPEAT_SECONDS.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../ts/index.js';
import { paretoRanks, parsePreferences, selectParetoHq, type SelectionRecord } from '../ts/moo/index.js';
import { pythonExecutable } from '../ts/native/libtorch.js';
import { Rng, seedOf } from '../ts/util/rng.js';
import {
  BENCH_OPTIONS,
  busyBeforeRun,
  type Column,
  fmt,
  log,
  machineFacts,
  mark,
  markdownTable,
  nowMs,
  outOption,
  parseBenchOptions,
  positiveInt,
  removeDataDir,
  resultsFileOf,
  runBenchmark,
  runPythonScript,
  timeCalls,
  type Timing,
  writeResults,
} from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPEAT_SECONDS = 0.5;
const BUDGET_SECONDS = 20;
const K = 100;
/** The issue's target for all 11 selections on 320,000 samples. */
const TARGET_MS = 200;

// ---------------------------------------------------------------- data

/** x rounded to bfloat16 (8 significant bits, round to nearest even), as a double. */
function bf16(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer);
  bits[0] = ((bits[0] + 0x7fff + ((bits[0] >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f[0];
}

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.uniform())) * Math.cos(2 * Math.PI * rng.uniform());
}

/** n rewards on helpful, harmless (and humor when m = 3); see the header. Row-major (n, m). */
function rewardPool(n: number, m: 2 | 3, seed: number): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(n * m);
  let prompt = 0;
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) prompt = gaussian(rng); // two responses per prompt
    const tradeoff = gaussian(rng);
    const helpful = 0.7 * prompt + 0.6 * tradeoff + 0.5 * gaussian(rng);
    const harmless = 0.5 * prompt - 0.6 * tradeoff + 0.5 * gaussian(rng) - 0.4 * -Math.log(1 - rng.uniform());
    out[i * m] = bf16(helpful);
    out[i * m + 1] = bf16(harmless);
    if (m === 3) {
      const funny = rng.uniform() < 0.2;
      out[i * m + 2] = bf16((funny ? 2 : -1) + 0.3 * prompt - 0.3 * harmless + 0.6 * gaussian(rng));
    }
  }
  return out;
}

interface BenchCase {
  name: string;
  m: 2 | 3;
  objectives: string[];
  grid: string;
  preferences: number[][];
  rewards: Float64Array;
  file: string;
  selectedFile: string;
}

function defineCases(samples: number, dir: string): BenchCase[] {
  return ([2, 3] as const).map((m, i) => {
    const grid = m === 2 ? 'grid:11' : 'paretohqd';
    const name = `${samples.toLocaleString('en-US')} samples, ${m} objectives, ${grid}, k = ${K}`;
    const rewards = rewardPool(samples, m, seedOf(`selection ${m}`));
    const file = `case${i}.f64`;
    writeFileSync(join(dir, file), new Uint8Array(rewards.buffer, rewards.byteOffset, rewards.byteLength));
    const objectives = ['helpful', 'harmless', 'humor'].slice(0, m);
    return { name, m, objectives, grid, preferences: parsePreferences(grid, m), rewards, file, selectedFile: `case${i}.sel.i32` };
  });
}

// ---------------------------------------------------------------- moalign

interface MoalignResult {
  selection: Timing;
  record: SelectionRecord;
  /** paretoRanks alone: with the early stop at N_min, and all fronts. */
  ranksEarlyStop: Timing;
  ranksAll: Timing;
}

async function runMoalign(c: BenchCase, repeats: number): Promise<MoalignResult> {
  const budget = { repeatSeconds: REPEAT_SECONDS, budgetSeconds: BUDGET_SECONDS };
  const pool = { objectives: c.objectives, rewards: c.rewards };
  const selection = await timeCalls(() => selectParetoHq(pool, c.preferences, { k: K, onWarning: () => {} }), repeats, budget);
  const poolMin = selection.value.options.paretoPoolMin!;
  const matrix = { data: c.rewards, m: c.m };
  const early = await timeCalls(() => paretoRanks(matrix, { stopAfterPoints: poolMin }), repeats, budget);
  const all = await timeCalls(() => paretoRanks(matrix), repeats, budget);
  return { selection: selection.timing, record: selection.value, ranksEarlyStop: early.timing, ranksAll: all.timing };
}

// ---------------------------------------------------------------- the Python side

interface PyCase {
  name: string;
  paretoRank: Timing;
  peel: Timing;
  ranksOnly: Timing;
  layers: number;
  candidates: number;
  fronts: number;
}

interface PythonResults {
  python: string;
  numpy: string;
  moocore: string;
  cases: PyCase[];
}

/** Rows selected by both sides that differ (NumPy's table is P x k, padded with -1). */
function mismatches(record: SelectionRecord, table: Int32Array): number {
  let bad = 0;
  record.selections.forEach((s, p) => {
    for (let a = 0; a < K; a++) if ((s.indices[a] ?? -1) !== table[p * K + a]) bad++;
  });
  return bad;
}

// ---------------------------------------------------------------- report

interface Row {
  case: string;
  moalignMs: number | null;
  numpyMs: number | null;
  peelMs: number | null;
  ratio: number | null;
  layers: string;
  same: string;
  target: string;
  met: boolean | null;
}

function formatTable(rows: Row[]): string {
  const columns: Column<Row>[] = [
    { title: 'case', align: 'left', cell: (r) => r.case },
    { title: 'moalign ms', align: 'right', cell: (r) => fmt(r.moalignMs) },
    { title: 'NumPy + moocore pareto_rank ms', align: 'right', cell: (r) => fmt(r.numpyMs) },
    { title: 'NumPy + moocore peeling ms', align: 'right', cell: (r) => fmt(r.peelMs) },
    { title: 'ratio moalign/best NumPy', align: 'right', cell: (r) => (r.ratio === null ? '—' : r.ratio.toFixed(3)) },
    { title: 'L, candidates', align: 'right', cell: (r) => r.layers },
    { title: 'same rows', align: 'left', cell: (r) => r.same },
    { title: 'target', align: 'left', cell: (r) => r.target },
  ];
  return markdownTable(rows, columns);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const values = parseBenchOptions('usage: npm run bench -- selection [options]', {
    repeats: { type: 'string', flag: '--repeats N', help: 'timed repeats per case, after a warm-up (default 7)' },
    samples: { type: 'string', flag: '--samples N', help: 'pool size (default 320000)' },
    out: outOption('selection'),
    'keep-data': BENCH_OPTIONS.keepData,
  });
  if (values === null) return;
  const resultsFile = resultsFileOf('selection', values.out);
  const repeats = positiveInt(values.repeats, 7, 'repeats');
  const samples = positiveInt(values.samples, 320_000, 'samples');

  const busyBefore = await busyBeforeRun();
  const loaded = loadAddon();
  const dir = mkdtempSync(join(tmpdir(), 'moalign-sel-'));
  try {
    const dataStart = nowMs();
    const cases = defineCases(samples, dir);
    log(`data: ${cases.length} pools of ${samples} samples written to ${dir} in ${(nowMs() - dataStart).toFixed(0)} ms`);

    // moalign first, then Python: never both at once.
    const ours: MoalignResult[] = [];
    for (const c of cases) {
      const r = await runMoalign(c, repeats);
      log(
        `${c.name}: selection ${fmt(r.selection.ms.median)} ms (L = ${r.record.layers}, ${r.record.candidates} candidates); ` +
          `ranks alone ${fmt(r.ranksEarlyStop.ms.median)} ms with the early stop, ${fmt(r.ranksAll.ms.median)} ms all fronts`,
      );
      ours.push(r);
    }
    const py = runPythonScript<PythonResults>(pythonExecutable(), join(here, 'selection_baseline.py'), {
      dir,
      repeats,
      repeatSeconds: REPEAT_SECONDS,
      budgetSeconds: BUDGET_SECONDS,
      cases: cases.map((c, i) => ({
        name: c.name,
        file: c.file,
        m: c.m,
        k: K,
        poolMin: ours[i].record.options.paretoPoolMin,
        preferences: c.preferences,
        selectedFile: c.selectedFile,
      })),
    });

    let totalMismatches = 0;
    const rows: Row[] = [];
    const checks = cases.map((c, i) => {
      const p = py.cases[i];
      if (p.name !== c.name) throw new Error(`the Python side answered ${p.name} for ${c.name}`);
      const r = ours[i];
      const table = new Int32Array(new Uint8Array(readFileSync(join(dir, c.selectedFile))).buffer);
      const bad = mismatches(r.record, table);
      const sameLayers = r.record.layers === p.layers && r.record.candidates === p.candidates;
      totalMismatches += bad + (sameLayers ? 0 : 1);
      const best = Math.min(p.paretoRank.ms.median, p.peel.ms.median);
      const met = r.selection.ms.median < TARGET_MS;
      rows.push({
        case: c.name,
        moalignMs: r.selection.ms.median,
        numpyMs: p.paretoRank.ms.median,
        peelMs: p.peel.ms.median,
        ratio: r.selection.ms.median / best,
        layers: `${r.record.layers}, ${r.record.candidates.toLocaleString('en-US')}`,
        same: bad === 0 && sameLayers ? 'yes' : `NO (${bad} rows differ${sameLayers ? '' : `; NumPy L = ${p.layers}, ${p.candidates}`})`,
        target: `all 11 < ${TARGET_MS} ms: ${mark(met)}`,
        met,
      });
      rows.push({
        case: '  ranks alone: paretoRanks (early stop) vs moocore.pareto_rank',
        moalignMs: r.ranksEarlyStop.ms.median,
        numpyMs: p.ranksOnly.ms.median,
        peelMs: null,
        ratio: r.ranksEarlyStop.ms.median / p.ranksOnly.ms.median,
        layers: `of ${p.fronts} fronts`,
        same: '',
        target: '',
        met: null,
      });
      rows.push({
        case: '  ranks alone, all fronts: paretoRanks vs moocore.pareto_rank',
        moalignMs: r.ranksAll.ms.median,
        numpyMs: p.ranksOnly.ms.median,
        peelMs: null,
        ratio: r.ranksAll.ms.median / p.ranksOnly.ms.median,
        layers: '',
        same: '',
        target: '',
        met: null,
      });
      return { case: c.name, mismatchedRows: bad, layers: { moalign: r.record.layers, numpy: p.layers }, candidates: { moalign: r.record.candidates, numpy: p.candidates } };
    });

    const table = formatTable(rows);
    const notes = [
      `medians of ${repeats} repeats after a warm-up (a repeat: back-to-back calls lasting ≈${REPEAT_SECONDS} s, mean per call); both sides single-threaded`,
      `moalign: selectParetoHq on the Float64Array, from JS (input checks, the native call off the JS thread, the record built), N_min = max(20·k·11, 5000) = ${fmt(ours[0].record.options.paretoPoolMin)}`,
      'NumPy: the same steps vectorised (bounds, ranks, clip, distances column by column, np.partition + lexsort for the top k); ranks by moocore.pareto_rank (all fronts, it has no early stop) or by peeling fronts with moocore.is_nondominated until N_min rows are ranked',
      `selected rows identical on both sides: ${totalMismatches === 0 ? 'yes, every row of every preference' : `NO (${totalMismatches} differences)`}`,
      `moocore ${py.moocore}, numpy ${py.numpy}, Python ${py.python}; data: HH-like rewards (prompt effect, trade-off, noise, bf16 ties), seeds fixed`,
    ];
    console.log(`\n${table}\n`);
    for (const note of notes) console.log(`- ${note}`);

    writeResults(resultsFile, {
      date: new Date().toISOString(),
      command: `npm run bench -- selection ${process.argv.slice(2).join(' ')}`.trim(),
      machine: { ...machineFacts(), python: py.python, busyBefore },
      versions: { moocore: py.moocore, numpy: py.numpy, buildInfo: loaded.buildInfo },
      settings: { repeats, samples, k: K, repeatSeconds: REPEAT_SECONDS, budgetSeconds: BUDGET_SECONDS },
      cases: cases.map((c, i) => ({
        name: c.name,
        m: c.m,
        grid: c.grid,
        moalign: { selection: ours[i].selection, ranksEarlyStop: ours[i].ranksEarlyStop, ranksAll: ours[i].ranksAll },
        numpy: { paretoRank: py.cases[i].paretoRank, peel: py.cases[i].peel, ranksOnly: py.cases[i].ranksOnly },
        layers: ours[i].record.layers,
        candidates: ours[i].record.candidates,
        fronts: py.cases[i].fronts,
        checks: checks[i],
      })),
      rows,
      table,
      notes,
    });
    if (totalMismatches > 0) {
      console.error(`moalign bench: the selections differ from NumPy's (${totalMismatches} differences)`);
      process.exitCode = 1;
    }
  } finally {
    removeDataDir(dir, Boolean(values['keep-data']));
  }
}

await runBenchmark(main);
