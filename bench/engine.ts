// Transformer-engine benchmark: moalign's native GPT-2 training step and greedy generation against
// PyTorch eager and Hugging Face transformers (+ peft) in Python, on this machine, same weights,
// same data, same thread count, one run. Prints a table, writes bench/results/engine.json. Never
// run by tests or CI.
//
//   npm run bench -- engine [--threads N] [--repeats N] [--rounds N] [--only TEXT] [--out FILE] [--quick] [--gpu-smoke] [--keep-data]
//
// The models: GPT-2 layout, 4 layers, d_model 256, 4 heads, 256 positions, dropout 0, tied LM
// head, vocabulary 256 and 50,257. bench/engine_baseline.py creates them from a fixed seed with
// transformers and saves them (save_pretrained: config.json + model.safetensors) to a temporary
// folder, with the token data as raw little-endian int32: one batch of 8 x 128 token ids and 8
// prompts of 16 tokens per vocabulary. Both sides then read the same files.
//
// Cases, per vocabulary:
//   train step, full / LoRA: forward + causal-LM loss over all 8 x 128 tokens + backward + grad-norm
//     clipping (1.0) + AdamW step (lr 1e-4, weight decay 0.01, betas 0.9/0.999, eps 1e-8: PyTorch's
//     defaults except lr). LoRA: r 8, alpha 16 on c_attn, c_proj, c_fc (peft's GPT-2 names; c_proj
//     is both the attention and the MLP output), base frozen. moalign: native trainSft (batch size 8,
//     constant schedule) on a data set of exactly that batch, so every step sees it; the step time
//     is the difference of successive onProgress elapsed times. PyTorch: the same loop in Python,
//     each step timed with perf_counter. The first TRAIN_WARMUP steps are not counted: median of
//     the next `repeats` steps.
//   generate: 8 prompts of 16 tokens in one batch, 128 new tokens each, greedy, no EOS stop, KV
//     cache. moalign: model.generate; transformers: model.generate(do_sample=False,
//     max_new_tokens=128) with eos_token_id None. GEN_WARMUP untimed calls, then median wall time
//     of `repeats` calls; throughput = 8 x 128 / median seconds.
//   train step, GPT-2 124M (CUDA), moalign only (issue 5): GPT-2 124M's layout (12 layers, d_model
//     768, 12 heads, vocabulary 50,257, 1,024 positions, tied head), weights drawn natively
//     (CausalLM initSeed: GPT-2's initialisation, no download, no Python), full fine-tune of
//     batch 8 x 1,024 random token ids under bf16 autocast, the same AdamW, clipping, warm-up and
//     median rules as the train cases above. Reports step ms, tokens/s = batch x T / median step
//     seconds and MFU (GPU_PEAK_BF16). Without a CUDA libtorch and GPU (runtimeInfo().cudaAvailable)
//     it is skipped with one printed line and appears as skipped in the table and JSON. --gpu-smoke
//     runs the same code path on the CPU with a tiny config (GPU_SMOKE), labelled as a smoke run,
//     MFU omitted.
// Every case, on each side, runs in a fresh process (this script with --child; the baseline with
// --case), case by case, in `--rounds` rounds (default 3): each round runs both sides once, moalign
// first in odd rounds and Python first in even ones, so that neither a drift of the machine's speed
// nor the order falls on one side only. Each side's time is the median over rounds of its
// per-round medians (one slow round, e.g. another process taking a core for a few seconds, moves
// it little), and the same rule applies to both sides; the per-round ratios are reported too. So
// each case's peak memory is its own: VmHWM of that process (/proc/self/status: peak resident set;
// execve resets it), the largest over the rounds, and its growth over the VmRSS measured after the
// libraries are loaded and before the model is. The checks use the first round's losses and tokens.
// Checks (reported, never failing the run): the first training loss and grad norm on both sides
// (same weights, same batch: they should agree to ~1e-4), the whole loss curve of the full
// fine-tune (same optimiser, same data), and whether greedy generation gave the same token ids.
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelInfo } from '../ts/engine/config.js';
import type { BuildInfo, NativeModelConfig } from '../ts/native/addon.js';
import { pythonEnvFor, pythonExecutable, resolveLibtorch } from '../ts/native/libtorch.js';
import { native } from '../ts/native/loader.js';
import { answerAsChild, BENCH_OPTIONS, busyBeforeRun, type Column, fmt, log, machineFacts, mark, markdownTable, OptionError, outOption, parseBenchOptions, positiveInt, readLittleEndian, removeDataDir, resultsFileOf, runBenchmark, runChildProcess, runPythonScript, type Stats, stats, writeResults } from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const thisFile = fileURLToPath(import.meta.url);

const SEED = 1234;
const LAYERS = 4;
const D_MODEL = 256;
const HEADS = 4;
const POSITIONS = 256;
const BATCH = 8;
const SEQ = 128;
const PROMPT_LEN = 16;
const NEW_TOKENS = 128;
const VOCABS = [256, 50_257];
const LR = 1e-4;
const WEIGHT_DECAY = 0.01; // torch.optim.AdamW's default
const MAX_GRAD_NORM = 1.0;
const LORA = { targets: ['c_attn', 'c_proj', 'c_fc'], rank: 8, alpha: 16 };
/** Training steps run before the timed ones, on both sides. */
const TRAIN_WARMUP = 2;
/** Untimed generate calls before the timed ones, on both sides. */
const GEN_WARMUP = 1;
/** First losses of both sides on the same weights and batch should agree this closely (absolute). */
const LOSS_TOLERANCE = 1e-4;

/** The GPU case: a model drawn natively (no files), moalign only. */
interface FreshModel {
  config: NativeModelConfig;
  device: string;
  batch: number;
  seq: number;
  autocast?: 'bfloat16';
}

const gpt2Layout = (layers: number, dModel: number, heads: number, positions: number): NativeModelConfig => ({
  layout: 'gpt2',
  vocabSize: 50_257,
  hiddenSize: dModel,
  numLayers: layers,
  numHeads: heads,
  intermediateSize: 4 * dModel,
  maxPositions: positions,
  normEps: 1e-5,
  tieEmbeddings: true,
  prefix: 'transformer.',
});

/**
 * GPT-2 124M on one GPU. Batch 8 x 1,024 (the full context): 8,192 tokens per step make every
 * matmul at least 8,192 rows, enough to keep an A100/H100 busy at d_model 768, and the activations
 * (even with attention scores materialised: 12 layers x 8 x 12 heads x 1,024² values, ~5 GB per
 * saved float32 copy; logits 8,192 x 50,257, ~1.6 GB) fit a 40 GB A100 beside the weights,
 * gradients and AdamW state (~2 GB); nanoGPT's 124M runs use 12 x 1,024.
 */
const GPU_CASE: FreshModel = { config: gpt2Layout(12, 768, 12, 1024), device: 'cuda', batch: 8, seq: 1024, autocast: 'bfloat16' };
/** --gpu-smoke: the same code path on the CPU, tiny. */
const GPU_SMOKE: FreshModel = { config: gpt2Layout(2, 64, 2, 32), device: 'cpu', batch: 2, seq: 32, autocast: 'bfloat16' };
const GPU_SKIP = 'skipped: needs a CUDA libtorch and GPU';

/** Peak dense bf16 FLOP/s by CUDA device name (torch's names, e.g. "NVIDIA H100 80GB HBM3"), first match. */
const GPU_PEAK_BF16: { gpu: string; name: RegExp; flops: number }[] = [
  { gpu: 'H100 PCIe', name: /H100.*PCIe/i, flops: 756e12 },
  { gpu: 'H100 SXM', name: /H100.*(SXM|HBM3)/i, flops: 989.4e12 },
  { gpu: 'H200', name: /H200(?!.*NVL)/i, flops: 989.4e12 },
  { gpu: 'A100', name: /A100/i, flops: 312e12 },
];

/**
 * Training FLOPs per token, nanoGPT's / llm.c's estimate: 6·N + 12·n_layer·d_model·T, N the
 * parameters without the position embedding (the token embedding counts: it is the tied head).
 */
const flopsPerToken = (nonPositionParams: number, c: NativeModelConfig, seq: number) => 6 * nonPositionParams + 12 * c.numLayers * c.hiddenSize * seq;

// ---------------------------------------------------------------- cases

type Target = { kind: 'ratio'; max: number } | { kind: 'speedup'; min: number } | { kind: 'none' };

interface BenchCase {
  name: string;
  kind: 'train' | 'generate';
  /** The model folder's name under the data folder. */
  model: string;
  vocab: number;
  lora: boolean;
  target: Target;
  /** Set: moalign only, on this natively drawn model (no Python side, no files). */
  fresh?: FreshModel;
  /** Set: the GPU case run on the CPU (--gpu-smoke): no MFU. */
  smoke?: boolean;
}

const modelName = (vocab: number) => `v${vocab}`;

function defineCases(gpuSmoke: boolean): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const vocab of VOCABS) {
    const v = vocab.toLocaleString('en-US');
    const common = { model: modelName(vocab), vocab };
    cases.push({ name: `train step, full fine-tune, vocab ${v}`, kind: 'train', lora: false, target: { kind: 'ratio', max: 0.9 }, ...common });
    cases.push({ name: `train step, LoRA r=${LORA.rank}, vocab ${v}`, kind: 'train', lora: true, target: { kind: 'ratio', max: 0.9 }, ...common });
    cases.push({ name: `generate ${BATCH}x${NEW_TOKENS} greedy, vocab ${v}`, kind: 'generate', lora: false, target: { kind: 'speedup', min: 2 }, ...common });
  }
  const fresh = gpuSmoke ? GPU_SMOKE : GPU_CASE;
  const c = fresh.config;
  const smokeLabel = gpuSmoke ? ` — smoke run on the CPU: ${c.numLayers} layers, d ${c.hiddenSize}, ${fresh.batch} x ${fresh.seq}` : '';
  cases.push({ name: `train step, GPT-2 124M (CUDA)${smokeLabel}`, kind: 'train', model: '', vocab: c.vocabSize, lora: false, target: { kind: 'none' }, fresh, smoke: gpuSmoke });
  return cases;
}

/** What one case process (either side) needs. */
interface ChildCase {
  name: string;
  kind: 'train' | 'generate';
  dir: string;
  model: string;
  lora: boolean;
  threads: number;
  steps: number;
  warmup: number;
  repeats: number;
  fresh?: FreshModel;
}

// ---------------------------------------------------------------- data files

/** A memory line of /proc/self/status (VmRSS, VmHWM) in MiB, or null off Linux. */
function procStatusMiB(field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const kb = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, 'm'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- moalign: one case in this (child) process

interface OursCase {
  name: string;
  threads: number;
  buildInfo: BuildInfo;
  rssBeforeModelMiB: number | null;
  peakRssMiB: number | null;
  // train
  stepMs?: Stats;
  losses?: number[];
  gradNorms?: number[];
  trainable?: number;
  trainSeconds?: number;
  /** Fresh-model cases: parameters without the position embedding (the FLOP estimate's N), the device's name. */
  nonPositionParams?: number;
  deviceName?: string;
  // generate
  callMs?: Stats;
  nativeSeconds?: number[];
  tokensPerSecond?: number;
  tokens?: number[][];
}

async function runChild(c: ChildCase): Promise<OursCase> {
  const addon = native();
  addon.setNumThreads(c.threads);
  const threads = addon.runtimeInfo().numThreads;
  if (threads !== c.threads) throw new Error(`setNumThreads(${c.threads}) did not take: ${threads}`);
  const dir = join(c.dir, c.model);
  const rssBeforeModelMiB = procStatusMiB('VmRSS');
  const { fresh } = c;
  const model = fresh
    ? new addon.CausalLM('', fresh.config, { dtype: 'float32', device: fresh.device, initSeed: SEED })
    : new addon.CausalLM(dir, readModelInfo(dir).config, { dtype: 'float32', device: 'cpu' });
  const out: OursCase = { name: c.name, threads, buildInfo: addon.buildInfo(), rssBeforeModelMiB, peakRssMiB: null };
  if (c.kind === 'train') {
    const [batch, seq] = fresh ? [fresh.batch, fresh.seq] : [BATCH, SEQ];
    if (c.lora) model.addLora({ targets: LORA.targets, rank: LORA.rank, alpha: LORA.alpha, seed: SEED });
    else model.setFullFinetune(true);
    const size = (n: string) => model.parameter(n).shape.reduce((a, b) => a * b, 1);
    const names = model.parameterNames(true);
    out.trainable = names.reduce((sum, n) => sum + size(n), 0);
    let ids: Int32Array;
    if (fresh) {
      out.nonPositionParams = out.trainable - names.filter((n) => n.endsWith('wpe.weight')).reduce((sum, n) => sum + size(n), 0);
      out.deviceName = fresh.device === 'cpu' ? 'cpu' : addon.runtimeInfo().cudaDevices[Number(fresh.device.split(':')[1] ?? 0)]?.name;
      let x = SEED; // random token ids from a fixed seed (xorshift32): no files
      ids = Int32Array.from({ length: batch * seq }, () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) % fresh.config.vocabSize;
      });
    } else {
      ids = readLittleEndian(join(dir, 'batch.i32'), Int32Array);
      if (ids.length !== batch * seq) throw new Error(`${dir}/batch.i32: ${ids.length} ids, expected ${batch * seq}`);
    }
    const offsets = Int32Array.from({ length: batch + 1 }, (_, i) => i * seq);
    const elapsed: number[] = [];
    const gradNorms: number[] = [];
    const report = await addon.trainSft(
      model,
      ids,
      Int32Array.from(ids), // labels: every token (the loss shifts them)
      offsets,
      { steps: c.steps, batchSize: batch, lr: LR, padId: 0, maxGradNorm: MAX_GRAD_NORM, weightDecay: WEIGHT_DECAY, schedule: 'constant', warmupSteps: 0, seed: 0, autocast: fresh?.autocast },
      undefined,
      (_step, _steps, _loss, _lr, gradNorm, _tps, elapsedSeconds) => {
        elapsed.push(elapsedSeconds);
        gradNorms.push(gradNorm);
      },
    );
    const stepMs = elapsed.map((e, i) => (e - (i === 0 ? 0 : elapsed[i - 1])) * 1e3);
    out.stepMs = stats(stepMs.slice(c.warmup));
    out.losses = Array.from(report.losses);
    out.gradNorms = gradNorms;
    out.trainSeconds = report.seconds;
  } else {
    const flat = readLittleEndian(join(dir, 'prompts.i32'), Int32Array);
    const prompts = Array.from({ length: BATCH }, (_, b) => Array.from(flat.subarray(b * PROMPT_LEN, (b + 1) * PROMPT_LEN)));
    const call = () => model.generate(prompts, { maxNewTokens: NEW_TOKENS, greedy: true, padId: 0, eosIds: [] });
    for (let i = 0; i < c.warmup; i++) await call();
    const samples: number[] = [];
    const nativeSeconds: number[] = [];
    let last = null as Awaited<ReturnType<typeof call>> | null;
    for (let i = 0; i < c.repeats; i++) {
      const start = process.hrtime.bigint();
      last = await call();
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      nativeSeconds.push(last.seconds);
    }
    if (!last || last.generated !== BATCH * NEW_TOKENS || last.tokens.some((t) => t.length !== NEW_TOKENS))
      throw new Error(`generate gave ${last?.generated} tokens, expected ${BATCH} x ${NEW_TOKENS}`);
    out.callMs = stats(samples);
    out.nativeSeconds = nativeSeconds;
    out.tokensPerSecond = (BATCH * NEW_TOKENS) / (out.callMs.median / 1e3);
    out.tokens = last.tokens;
  }
  out.peakRssMiB = procStatusMiB('VmHWM');
  model.dispose();
  return out;
}

// ---------------------------------------------------------------- the Python side

interface PyCase {
  name: string;
  threads: number;
  rssBeforeModelMiB: number | null;
  peakRssMiB: number | null;
  attnImplementation: string | null;
  versions: PyVersions;
  stepMs?: Stats;
  losses?: number[];
  gradNorms?: number[];
  trainable?: number;
  callMs?: Stats;
  tokensPerSecond?: number;
  tokens?: number[][];
}

interface PyVersions {
  python: string;
  torch: string;
  torchFile: string;
  transformers: string;
  peft: string | null;
}

interface PyPrepared extends PyVersions {
  models: { name: string; vocab: number; parameters: number }[];
}

interface PyResults extends PyVersions {
  threads: number;
  cases: PyCase[];
}

// ---------------------------------------------------------------- rounds

/** Times over a case's rounds: `median` is the median of the rounds' medians, min/max/samples over every sample. */
interface RoundStats extends Stats {
  roundMedians: number[];
}

function overRounds(perRound: Stats[]): RoundStats {
  const roundMedians = perRound.map((r) => r.median);
  return { ...stats(perRound.flatMap((r) => r.samples)), median: stats(roundMedians).median, roundMedians };
}

/**
 * One side's result for a case over its rounds: the first round's (losses, grad norms, tokens:
 * the checks), with the times taken over all rounds (overRounds), the throughput recomputed from
 * that median, and the memory of the round with the largest peak RSS.
 */
function acrossRounds<T extends OursCase | PyCase>(runs: T[]): T {
  const peak = runs.reduce((a, b) => ((b.peakRssMiB ?? -1) > (a.peakRssMiB ?? -1) ? b : a));
  const out: T = { ...runs[0], peakRssMiB: peak.peakRssMiB, rssBeforeModelMiB: peak.rssBeforeModelMiB };
  if (runs[0].stepMs) out.stepMs = overRounds(runs.map((r) => r.stepMs!));
  if (runs[0].callMs) {
    out.callMs = overRounds(runs.map((r) => r.callMs!));
    out.tokensPerSecond = (BATCH * NEW_TOKENS) / (out.callMs.median / 1e3);
  }
  return out;
}

// ---------------------------------------------------------------- checks

interface TrainCheck {
  firstLoss: { moalign: number; python: number; absDiff: number };
  firstGradNorm: { moalign: number; python: number; relDiff: number };
  /** Largest |difference| over all steps' losses (same optimiser and data: should stay small). */
  maxLossDiff: number;
  agrees: boolean;
}

interface GenerateCheck {
  identical: boolean;
  /** Tokens that differ, of BATCH x NEW_TOKENS. */
  differing: number;
  /** The first difference: prompt and new-token position (0-based), or null. */
  firstDifference: { prompt: number; position: number; moalign: number; python: number } | null;
  /** Prompts whose whole continuation is the same. */
  samePrompts: number;
}

function trainCheck(ours: OursCase, py: PyCase): TrainCheck {
  const a = ours.losses!;
  const b = py.losses!;
  let maxLossDiff = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) maxLossDiff = Math.max(maxLossDiff, Math.abs(a[i] - b[i]));
  const absDiff = Math.abs(a[0] - b[0]);
  const g = [ours.gradNorms![0], py.gradNorms![0]];
  return {
    firstLoss: { moalign: a[0], python: b[0], absDiff },
    firstGradNorm: { moalign: g[0], python: g[1], relDiff: Math.abs(g[0] - g[1]) / Math.abs(g[1]) },
    maxLossDiff,
    agrees: absDiff <= LOSS_TOLERANCE,
  };
}

function generateCheck(ours: number[][], py: number[][]): GenerateCheck {
  let differing = 0;
  let samePrompts = 0;
  let first: GenerateCheck['firstDifference'] = null;
  for (let p = 0; p < BATCH; p++) {
    let same = true;
    for (let t = 0; t < NEW_TOKENS; t++) {
      if (ours[p][t] === py[p][t]) continue;
      differing++;
      same = false;
      if (first === null || t < first.position) first = { prompt: p, position: t, moalign: ours[p][t], python: py[p][t] };
    }
    if (same) samePrompts++;
  }
  return { identical: differing === 0, differing, firstDifference: first, samePrompts };
}

// ---------------------------------------------------------------- report

interface Row {
  case: string;
  metric: string;
  moalign: number | null;
  python: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
}

function formatTable(rows: Row[]): string {
  const columns: Column<Row>[] = [
    { title: 'case', align: 'left', cell: (r) => r.case },
    { title: 'metric', align: 'left', cell: (r) => r.metric },
    { title: 'moalign', align: 'right', cell: (r) => fmt(r.moalign) },
    { title: 'PyTorch / transformers', align: 'right', cell: (r) => fmt(r.python) },
    { title: 'ratio moalign/python', align: 'right', cell: (r) => (r.ratio === null ? '—' : r.ratio.toFixed(2)) },
    { title: 'target', align: 'left', cell: (r) => r.target },
  ];
  return markdownTable(rows, columns);
}

/** A fresh-model (GPU) case's throughput and MFU; mfu null for a smoke run or a GPU not in GPU_PEAK_BF16. */
interface GpuFigures {
  device: string;
  tokensPerSecond: number;
  flopsPerToken: number;
  peakFlops: number | null;
  mfu: number | null;
  /** Why there is no MFU, or the peak it used. */
  mfuNote: string;
}

function gpuFigures(c: BenchCase, ours: OursCase): GpuFigures {
  const f = c.fresh!;
  const device = ours.deviceName ?? f.device;
  const tokensPerSecond = (f.batch * f.seq) / (ours.stepMs!.median / 1e3);
  const perToken = flopsPerToken(ours.nonPositionParams!, f.config, f.seq);
  const peakFlops = c.smoke ? null : (GPU_PEAK_BF16.find((p) => p.name.test(device))?.flops ?? null);
  const mfu = peakFlops === null ? null : (tokensPerSecond * perToken) / peakFlops;
  const mfuNote = c.smoke ? 'MFU omitted (smoke run on the CPU)' : peakFlops === null ? `MFU: unknown peak for ${device}` : `peak ${device}: ${(peakFlops / 1e12).toFixed(1)} TFLOP/s bf16 dense`;
  return { device, tokensPerSecond, flopsPerToken: perToken, peakFlops, mfu, mfuNote };
}

function caseRows(c: BenchCase, ours: OursCase | null, py: PyCase | null, skipped: string | null): Row[] {
  const rows: Row[] = [];
  const only = (metric: string, moalign: number | null, target = '—'): Row => ({ case: rows.length ? '' : c.name, metric, moalign, python: null, ratio: null, target, met: null });
  if (skipped !== null || ours === null) return [only(skipped ?? 'skipped', null)];
  if (c.fresh) {
    const g = gpuFigures(c, ours);
    rows.push(only('step ms', ours.stepMs!.median));
    rows.push(only('tokens/s', g.tokensPerSecond));
    rows.push(only('MFU %', g.mfu === null ? null : g.mfu * 100, g.mfuNote));
  } else if (py === null) {
    throw new Error(`${c.name}: no Python result`);
  } else if (c.kind === 'train') {
    const [a, b] = [ours.stepMs!.median, py.stepMs!.median];
    const max = c.target.kind === 'ratio' ? c.target.max : 0.9;
    rows.push({ case: c.name, metric: 'step ms', moalign: a, python: b, ratio: a / b, target: `ratio ≤ ${max}: ${mark(a / b <= max)}`, met: a / b <= max });
  } else {
    const [a, b] = [ours.tokensPerSecond!, py.tokensPerSecond!];
    const min = c.target.kind === 'speedup' ? c.target.min : 2;
    rows.push({ case: c.name, metric: 'tokens/s', moalign: a, python: b, ratio: a / b, target: `≥ ${min}x: ${mark(a / b >= min)}`, met: a / b >= min });
  }
  const peak = (r: OursCase | PyCase) => r.peakRssMiB;
  const growth = (r: OursCase | PyCase) => (r.peakRssMiB === null || r.rssBeforeModelMiB === null ? null : r.peakRssMiB - r.rssBeforeModelMiB);
  for (const [metric, f] of [
    ['peak RSS MiB', peak],
    ['  growth over loaded runtime', growth],
  ] as const) {
    const [a, b] = [f(ours), py === null ? null : f(py)];
    const ratio = a === null || b === null ? null : a / b;
    const ok = ratio === null ? null : ratio <= 1;
    rows.push({ case: '', metric, moalign: a, python: b, ratio, target: py === null ? '—' : `≤ PyTorch: ${mark(ok)}`, met: ok });
  }
  return rows;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const values = parseBenchOptions('usage: npm run bench -- engine [options]', {
    threads: BENCH_OPTIONS.threadsBothSides,
    repeats: {
      type: 'string',
      flag: '--repeats N',
      help: `timed training steps (after ${TRAIN_WARMUP} warm-up steps) and timed generate calls (after ${GEN_WARMUP}) per case (default 5; --quick: 2)`,
    },
    rounds: {
      type: 'string',
      flag: '--rounds N',
      help: 'rounds per case, each running both sides once (order alternating); a side\'s time is the median of its round medians (default 3; --quick: 1)',
    },
    only: { type: 'string', flag: '--only TEXT', help: 'only the cases whose name contains TEXT' },
    out: outOption('engine'),
    quick: { type: 'boolean', flag: '--quick', help: 'fewer repeats (2) and one round, for a smoke run' },
    'gpu-smoke': {
      type: 'boolean',
      flag: '--gpu-smoke',
      help: `run the GPT-2 124M (CUDA) case's code path on the CPU instead, tiny (${GPU_SMOKE.config.numLayers} layers, d ${GPU_SMOKE.config.hiddenSize}, batch ${GPU_SMOKE.batch} x ${GPU_SMOKE.seq}): a smoke run, no MFU`,
    },
    'keep-data': { ...BENCH_OPTIONS.keepData, help: 'keep the temporary folder with the models and token files' },
    child: BENCH_OPTIONS.child,
  });
  if (values === null) return;
  // One case in this fresh process: its input on stdin, the result as one JSON line on stdout.
  if (values.child) return answerAsChild(runChild);
  const resultsFile = resultsFileOf('engine', values.out);
  const threads = positiveInt(values.threads, availableParallelism(), 'threads');
  const repeats = positiveInt(values.repeats, values.quick ? 2 : 5, 'repeats');
  const rounds = positiveInt(values.rounds, values.quick ? 1 : 3, 'rounds');
  const steps = TRAIN_WARMUP + repeats;

  const cases = defineCases(Boolean(values['gpu-smoke'])).filter((c) => values.only === undefined || c.name.includes(values.only));
  if (cases.length === 0) throw new OptionError(`--only ${values.only}: no case matches`);
  // Cases with a Python side (all but the fresh-model GPU case) need the prepared files.
  const pairCases = cases.filter((c) => !c.fresh);
  // The GPU case needs a CUDA libtorch and a GPU; asked of the addon only when that case runs.
  const cudaAvailable = cases.some((c) => c.fresh && !c.smoke) && native().runtimeInfo().cudaAvailable;

  const busyBefore = await busyBeforeRun();
  const lt = resolveLibtorch();
  const python = pairCases.length ? pythonExecutable() : '';
  const pyEnv = pythonEnvFor(lt);
  const script = join(here, 'engine_baseline.py');
  log(`${threads} threads, ${rounds} round(s) of ${repeats} repeats (training: ${TRAIN_WARMUP} warm-up steps + ${repeats}; generation: ${GEN_WARMUP} warm-up call + ${repeats}), libtorch ${lt.fullVersion} (${lt.source})`);

  const dir = mkdtempSync(join(tmpdir(), 'moalign-engine-'));
  try {
    // The models and token data, made by transformers so that both sides read the same files.
    const vocabs = [...new Set(pairCases.map((c) => c.vocab))];
    const prepared = !pairCases.length ? null : runPythonScript<PyPrepared>(
      python,
      script,
      {
        action: 'prepare',
        dir,
        seed: SEED,
        layers: LAYERS,
        dModel: D_MODEL,
        heads: HEADS,
        positions: POSITIONS,
        batch: BATCH,
        seq: SEQ,
        promptLen: PROMPT_LEN,
        models: vocabs.map((vocab) => ({ name: modelName(vocab), vocab })),
      },
      pyEnv,
    );
    if (prepared && prepared.torch !== lt.fullVersion) log(`warning: Python's torch is ${prepared.torch} (${prepared.torchFile}), moalign's libtorch is ${lt.fullVersion}`);

    const childCase = (c: BenchCase): ChildCase => ({
      name: c.name,
      kind: c.kind,
      dir,
      model: c.model,
      lora: c.lora,
      threads,
      steps,
      warmup: c.kind === 'train' ? TRAIN_WARMUP : GEN_WARMUP,
      repeats,
      fresh: c.fresh,
    });

    const runOurs = (c: BenchCase): OursCase => {
      const r = runChildProcess<OursCase>(thisFile, childCase(c), c.name);
      log(
        `${c.name}: moalign ${c.kind === 'train' ? `${fmt(r.stepMs!.median)} ms/step, first loss ${r.losses![0].toFixed(6)}` : `${fmt(r.tokensPerSecond!)} tokens/s`}, peak RSS ${fmt(r.peakRssMiB)} MiB`,
      );
      return r;
    };
    const runPython = (c: BenchCase): PyResults =>
      runPythonScript<PyResults>(
        python,
        script,
        {
          action: 'run',
          dir,
          threads,
          batch: BATCH,
          cases: [
            {
              ...childCase(c),
              dir: undefined,
              threads: undefined,
              lr: LR,
              weightDecay: WEIGHT_DECAY,
              maxGradNorm: MAX_GRAD_NORM,
              loraRank: LORA.rank,
              loraAlpha: LORA.alpha,
              loraTargets: LORA.targets,
              maxNewTokens: NEW_TOKENS,
              seed: SEED,
            },
          ],
        },
        pyEnv,
      );

    // Case by case, each side in a fresh process, never both at once, in rounds whose order
    // alternates (moalign first in odd rounds): a slow drift of this (shared, virtual) machine or
    // a slow moment does not fall on one side only.
    const ours: (OursCase | null)[] = [];
    const pyCases: (PyCase | null)[] = [];
    const roundRatios: (number[] | null)[] = [];
    /** Per case: why it did not run (the GPU case without CUDA), or null. */
    const skipped: (string | null)[] = [];
    let pyVersions: PyVersions | null = null;
    for (const c of cases) {
      const skip = c.fresh && !c.smoke && !cudaAvailable ? GPU_SKIP : null;
      skipped.push(skip);
      if (skip !== null) {
        console.log(`${c.name}: ${skip}`);
        ours.push(null);
        pyCases.push(null);
        roundRatios.push(null);
        continue;
      }
      const oursRuns: OursCase[] = [];
      const pyRuns: PyCase[] = [];
      for (let round = 0; round < rounds; round++) {
        const runBoth = [
          () => oursRuns.push(runOurs(c)),
          () => {
            if (c.fresh) return; // moalign only
            const p = runPython(c);
            if (p.threads !== threads) throw new Error(`Python ran with ${p.threads} threads, expected ${threads}`);
            pyVersions ??= p;
            pyRuns.push(p.cases[0]);
          },
        ];
        for (const run of round % 2 === 0 ? runBoth : runBoth.reverse()) run();
      }
      ours.push(acrossRounds(oursRuns));
      pyCases.push(pyRuns.length ? acrossRounds(pyRuns) : null);
      roundRatios.push(
        pyRuns.length ? oursRuns.map((o, i) => (c.kind === 'train' ? o.stepMs!.median / pyRuns[i].stepMs!.median : o.tokensPerSecond! / pyRuns[i].tokensPerSecond!)) : null,
      );
      if (c.fresh) {
        const g = gpuFigures(c, ours.at(-1)!);
        console.log(`${c.name}: ${fmt(g.tokensPerSecond)} tokens/s on ${g.device}; ${g.mfu === null ? g.mfuNote : `MFU ${(g.mfu * 100).toFixed(1)}% (${g.mfuNote})`}`);
      }
    }
    const versions = pyVersions as PyVersions | null;
    const py = { ...versions, threads, cases: pyCases };

    // Checks: same first loss and grad norm; same greedy tokens. Reported, never fatal.
    const checks: (TrainCheck | GenerateCheck | null)[] = cases.map(() => null);
    const checkLines: string[] = [];
    cases.forEach((c, i) => {
      const [o, p] = [ours[i], py.cases[i]];
      if (o === null || p === null) return; // skipped, or moalign only
      if (p.name !== c.name) throw new Error(`the Python side answered ${p.name} for ${c.name}`);
      if (p.threads !== threads) throw new Error(`${c.name}: Python ran with ${p.threads} threads, expected ${threads}`);
      if (c.kind === 'train') {
        const t = trainCheck(o, p);
        checks[i] = t;
        checkLines.push(
          `${c.name}: first loss moalign ${t.firstLoss.moalign.toFixed(6)} / PyTorch ${t.firstLoss.python.toFixed(6)} ` +
            `(|diff| ${t.firstLoss.absDiff.toExponential(1)}${t.agrees ? '' : `, MORE than ${LOSS_TOLERANCE}`}); first grad norm ${t.firstGradNorm.moalign.toFixed(5)} / ${t.firstGradNorm.python.toFixed(5)}; ` +
            `largest loss |diff| over ${Math.min(o.losses!.length, p.losses!.length)} steps ${t.maxLossDiff.toExponential(1)}; trainable parameters ${o.trainable!.toLocaleString('en-US')} / ${p.trainable!.toLocaleString('en-US')}`,
        );
      } else {
        const g = generateCheck(o.tokens!, p.tokens!);
        checks[i] = g;
        const f = g.firstDifference;
        checkLines.push(
          `${c.name}: greedy tokens ${g.identical ? 'identical' : `DIFFER: ${g.differing} of ${BATCH * NEW_TOKENS} tokens, ${g.samePrompts} of ${BATCH} prompts identical; first difference at new token ${f!.position} of prompt ${f!.prompt} (moalign ${f!.moalign}, transformers ${f!.python})`}`,
        );
      }
    });

    const rows = cases.flatMap((c, i) => caseRows(c, ours[i], py.cases[i], skipped[i]));
    const table = formatTable(rows);
    const gpuCase = cases.find((c) => c.fresh);
    const gpuNote = (c: BenchCase) => {
      const f = c.fresh!;
      const m = f.config;
      return (
        `${c.name}: moalign only; GPT-2 layout, ${m.numLayers} layers, d_model ${m.hiddenSize}, ${m.numHeads} heads, vocabulary ${m.vocabSize.toLocaleString('en-US')}, ${m.maxPositions} positions, tied head, ` +
        `weights drawn natively (initSeed ${SEED}), float32 weights/gradients/AdamW state with ${f.autocast ?? 'no'} autocast, on ${f.device}; full fine-tune of batch ${f.batch} x ${f.seq} random token ids, AdamW lr ${LR} wd ${WEIGHT_DECAY}, clip ${MAX_GRAD_NORM}; per round the median of ${repeats} steps after ${TRAIN_WARMUP} warm-up steps, ${rounds} round(s), the median of the round medians; ` +
        `tokens/s = ${f.batch} x ${f.seq} / the median step seconds; MFU = tokens/s x (6·N + 12·n_layer·d_model·T) / the GPU's peak dense bf16 FLOP/s (nanoGPT's / llm.c's estimate; N: parameters without the position embedding, T ${f.seq}; ` +
        `peaks in TFLOP/s: ${GPU_PEAK_BF16.map((p) => `${p.gpu} ${p.flops / 1e12}`).join(', ')}); step times: successive onProgress elapsed times (each step reads its loss and grad norm back, so a step's GPU work lands in its own or the next interval)`
      );
    };
    const notes = [
      ...(pairCases.length
        ? [
            `GPT-2 layout, ${LAYERS} layers, d_model ${D_MODEL}, ${HEADS} heads, ${POSITIONS} positions, dropout 0, tied LM head, float32, CPU; same weights (random, seed ${SEED}, saved by transformers) and same token ids on both sides`,
            `train step: batch ${BATCH} x ${SEQ}, loss over all tokens, clip ${MAX_GRAD_NORM}, AdamW lr ${LR} wd ${WEIGHT_DECAY} (PyTorch: torch.optim.AdamW defaults otherwise; moalign: fused AdamW); LoRA r ${LORA.rank} alpha ${LORA.alpha} on ${LORA.targets.join(', ')} (peft on the Python side); per round the median of ${repeats} steps after ${TRAIN_WARMUP} warm-up steps`,
            `generate: ${BATCH} prompts of ${PROMPT_LEN} tokens in one batch, ${NEW_TOKENS} new tokens, greedy, no EOS, KV cache; tokens/s = ${BATCH * NEW_TOKENS} / the median wall seconds of a call (per round: median of ${repeats} calls after ${GEN_WARMUP} warm-up call)`,
            `${threads} threads on both sides (native().setNumThreads, torch.set_num_threads); every case in a fresh process on each side, case by case, in ${rounds} round(s) (moalign first in odd rounds, Python first in even ones); each side's time: the median over rounds of its round medians`,
            'peak RSS: VmHWM of the case process (Node + libtorch + the addon; Python + torch + transformers [+ peft]); growth: VmHWM minus VmRSS after the libraries were loaded and before the model was',
            `ratio: moalign/python for step time and memory (lower is better), moalign/transformers throughput for generation (higher is better)`,
          ]
        : []),
      ...(gpuCase ? [gpuNote(gpuCase)] : []),
      `${versions ? `PyTorch ${versions.torch}, transformers ${versions.transformers}, peft ${versions.peft ?? 'absent'}, Python ${versions.python} (attention: ${py.cases.find((p) => p)?.attnImplementation ?? '?'}); ` : ''}moalign's libtorch ${lt.fullVersion}`,
    ];
    console.log(`\n${table}\n`);
    for (const note of notes) console.log(`- ${note}`);
    if (rounds > 1 && roundRatios.some((r) => r !== null)) {
      console.log('\nper-round ratios (moalign/python step time; moalign/transformers throughput):');
      cases.forEach((c, i) => roundRatios[i] && console.log(`- ${c.name}: ${roundRatios[i].map((r) => r.toFixed(2)).join(' / ')}`));
    }
    if (checkLines.length) {
      console.log('\nchecks (reported, not failing the run):');
      for (const line of checkLines) console.log(`- ${line}`);
    }

    const report = {
      date: new Date().toISOString(),
      command: `npm run bench -- engine ${process.argv.slice(2).join(' ')}`.trim(),
      machine: { ...machineFacts(), python: versions?.python ?? null, busyBefore },
      versions: {
        libtorch: lt.fullVersion,
        libtorchSource: lt.source,
        torch: versions?.torch ?? null,
        torchFile: versions?.torchFile ?? null,
        transformers: versions?.transformers ?? null,
        peft: versions?.peft ?? null,
        buildInfo: ours.find((o) => o !== null)?.buildInfo ?? null,
      },
      settings: {
        threads,
        repeats,
        rounds,
        trainWarmupSteps: TRAIN_WARMUP,
        generateWarmupCalls: GEN_WARMUP,
        model: { layers: LAYERS, dModel: D_MODEL, heads: HEADS, positions: POSITIONS, vocabs },
        batch: BATCH,
        seq: SEQ,
        promptLen: PROMPT_LEN,
        newTokens: NEW_TOKENS,
        lr: LR,
        weightDecay: WEIGHT_DECAY,
        maxGradNorm: MAX_GRAD_NORM,
        lora: LORA,
        seed: SEED,
        models: prepared?.models ?? [],
        gpuModel: gpuCase?.fresh ?? null,
      },
      cases: cases.map((c, i) => {
        const [o, p] = [ours[i], py.cases[i]];
        const { tokens: oursTokens, buildInfo: _b, ...oursRest } = o ?? {};
        const { tokens: pyTokens, versions: _v, ...pyRest } = p ?? {};
        return {
          name: c.name,
          kind: c.kind,
          vocab: c.vocab,
          lora: c.lora,
          target: c.target,
          skipped: skipped[i],
          moalign: o && oursRest,
          python: p && pyRest,
          ...(c.fresh && o ? { gpu: gpuFigures(c, o), smoke: Boolean(c.smoke) } : {}),
          roundRatios: roundRatios[i],
          checks: checks[i],
          ...(oursTokens ? { tokens: { moalign: oursTokens, python: pyTokens } } : {}),
        };
      }),
      rows,
      table,
      notes,
      checks: checkLines,
    };
    writeResults(resultsFile, report);
  } finally {
    removeDataDir(dir, Boolean(values['keep-data']));
  }
}

await runBenchmark(main);
