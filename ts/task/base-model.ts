// The built-in task's base model: a tiny GPT-2 pretrained from scratch by moalign's own trainer on
// the pretraining documents of the Brown corpus, one sentence per example (so it learns to end a
// sentence with EOS, which makes "the rest of the sentence" a natural response). It is cached in
// the user's cache folder under a key of every setting that shapes it, and is an ordinary
// Hugging Face folder (config.json, model.safetensors, tokenizer.json) that transformers loads.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { saveBpeTokenizer } from '../engine/bpe-trainer.js';
import { saveByteTokenizer } from '../engine/byte-tokenizer.js';
import { CausalLM, type TextPair } from '../engine/causal-lm.js';
import { Tokenizer } from '../engine/tokenizer.js';
import { Trainer, type TrainProgress } from '../engine/trainer.js';
import { cacheDir } from '../paths.js';
import { Rng } from '../util/rng.js';

/** Everything that shapes the base model; the cache key is a hash of it. Defaults: DEFAULT_BASE_MODEL. */
export const baseModelSettings = z.object({
  tokenizer: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('bpe'), vocabSize: z.number().int().min(260) }),
    z.object({ kind: z.literal('byte') }),
  ]),
  model: z.object({
    layers: z.number().int().positive(),
    width: z.number().int().positive(),
    heads: z.number().int().positive(),
    /** Context length in tokens; longer sentences are left out of pretraining. */
    context: z.number().int().min(8),
  }),
  training: z.object({
    steps: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    lr: z.number().positive(),
    warmupSteps: z.number().int().nonnegative(),
    minLrRatio: z.number().min(0).max(1),
    weightDecay: z.number().nonnegative(),
    seed: z.number().int().nonnegative(),
  }),
});
export type BaseModelSettings = z.infer<typeof baseModelSettings>;

/**
 * Sized for a few minutes of pretraining on 2 CPU cores: 4 layers of width 128 (about 1M weights)
 * on a 2,048-token BPE, 700 steps of 48 sentences (about 0.8 of a pass over the pretraining sentences).
 */
export const DEFAULT_BASE_MODEL: BaseModelSettings = {
  tokenizer: { kind: 'bpe', vocabSize: 2048 },
  model: { layers: 4, width: 128, heads: 4, context: 64 },
  training: { steps: 700, batchSize: 48, lr: 3e-3, warmupSteps: 40, minLrRatio: 0.1, weightDecay: 0.01, seed: 0 },
};

export interface BaseModelReport {
  /** The cache folder the model lives in. */
  dir: string;
  key: string;
  /** True when an earlier run had already built it. */
  cached: boolean;
  /** Mean next-token loss (nats) on held-out sentences before and after pretraining. */
  heldOutLoss: { initial: number; final: number; sentences: number };
  /** Training loss per step. */
  losses: number[];
  sentences: { used: number; tooLong: number };
  tokens: number;
  seconds: number;
}

export interface BaseModelHooks {
  /** The cache root; default `<cacheDir()>/base-models` (MOALIGN_CACHE_DIR moves it). */
  cacheRoot?: string;
  onProgress?: (p: TrainProgress) => void;
  /** Short status lines ("training the tokenizer", ...). */
  onStatus?: (message: string) => void;
  signal?: AbortSignal;
}

/** The cache key: a hash of the settings, the data that goes in, and this file's format version. */
export function baseModelKey(settings: BaseModelSettings, corpusKey: string): string {
  const payload = JSON.stringify({ format: 1, corpusKey, settings: baseModelSettings.parse(settings) });
  return createHash('sha256').update(payload).digest('hex').slice(0, 16);
}

const REPORT_FILE = 'moalign-base-model.json';

/**
 * The base model for `settings`, pretrained on `pretrainSentences` and measured on
 * `heldOutSentences`: from the cache when it is there, else built (in a `.partial` folder that a
 * later call resumes from, renamed into place when done). `corpusKey` names the data (e.g. the
 * corpus version and split seed) so that other data never hits the same cache entry.
 */
export async function ensureBaseModel(
  settings: BaseModelSettings,
  data: { corpusKey: string; pretrainSentences: readonly string[]; heldOutSentences: readonly string[] },
  hooks: BaseModelHooks = {},
): Promise<BaseModelReport> {
  settings = baseModelSettings.parse(settings);
  const key = baseModelKey(settings, data.corpusKey);
  const root = hooks.cacheRoot ?? join(cacheDir(), 'base-models');
  const dir = join(root, key);
  const reportFile = join(dir, REPORT_FILE);
  if (existsSync(reportFile)) return { ...(JSON.parse(readFileSync(reportFile, 'utf8')) as BaseModelReport), dir, cached: true };

  const partial = `${dir}.partial`;
  try {
    mkdirSync(partial, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create the base-model cache folder ${partial} (${(err as Error).message}); set MOALIGN_CACHE_DIR to a writable folder`);
  }
  const started = Date.now();
  if (!existsSync(join(partial, 'tokenizer.json'))) {
    hooks.onStatus?.(settings.tokenizer.kind === 'bpe' ? `training a ${settings.tokenizer.vocabSize}-token BPE tokenizer` : 'writing the byte tokenizer');
    const special = { specialTokens: ['<|endoftext|>', '<|pad|>'], modelMaxLength: settings.model.context };
    if (settings.tokenizer.kind === 'bpe') await saveBpeTokenizer(partial, data.pretrainSentences, { ...special, vocabSize: settings.tokenizer.vocabSize });
    else await saveByteTokenizer(partial, special);
  }
  const tokenizer = await Tokenizer.load(partial);
  writeBaseModelConfig(partial, settings, tokenizer);

  // One sentence per example; sentences that do not fit the context (with EOS) are left out.
  const fits = (s: string) => tokenizer.encode(s, { addSpecialTokens: false }).length < settings.model.context;
  const pretrain = data.pretrainSentences.filter(fits);
  if (pretrain.length === 0) throw new Error('no pretraining sentence fits the context');
  const heldOut = new Rng(1).shuffle(data.heldOutSentences.filter(fits)).slice(0, 256);
  const pairs = (sentences: readonly string[]): TextPair[] => sentences.map((response) => ({ prompt: '', response }));

  using model = await CausalLM.fromScratch(partial, { seed: settings.training.seed });
  const initial = meanLoss(model, pairs(heldOut));
  hooks.onStatus?.(`pretraining on ${pretrain.length} sentences`);
  const t = settings.training;
  const report = await new Trainer(model, {
    steps: t.steps,
    batchSize: t.batchSize,
    lr: t.lr,
    warmupSteps: t.warmupSteps,
    schedule: 'cosine',
    minLrRatio: t.minLrRatio,
    weightDecay: t.weightDecay,
    seed: t.seed,
    checkpointDir: join(partial, 'pretraining'),
    checkpointEvery: 100,
  }).fit(pairs(pretrain), { onProgress: hooks.onProgress, signal: hooks.signal });
  const final = meanLoss(model, pairs(heldOut));
  model.save(partial);
  rmSync(join(partial, 'pretraining'), { recursive: true, force: true });

  const result: BaseModelReport = {
    dir,
    key,
    cached: false,
    heldOutLoss: { initial, final, sentences: heldOut.length },
    losses: Array.from(report.losses),
    sentences: { used: pretrain.length, tooLong: data.pretrainSentences.length - pretrain.length },
    tokens: report.tokens,
    seconds: (Date.now() - started) / 1000,
  };
  writeFileSync(join(partial, REPORT_FILE), `${JSON.stringify(result, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return result;
}

/** Token-weighted mean next-token loss (nats) of the model on `pairs`. */
function meanLoss(model: CausalLM, pairs: TextPair[]): number {
  let nll = 0;
  let tokens = 0;
  for (const s of model.logProbs(pairs, { batchSize: 32 })) {
    nll -= s.sum;
    tokens += s.tokens;
  }
  return nll / tokens;
}

/** The base model's GPT-2 config.json (and generation_config.json), which moalign and transformers both read. */
export function writeBaseModelConfig(dir: string, settings: BaseModelSettings, tokenizer: Tokenizer): void {
  const { layers, width, heads, context } = settings.model;
  const eos = tokenizer.eosId;
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: tokenizer.vocabSize,
    n_positions: context,
    n_embd: width,
    n_layer: layers,
    n_head: heads,
    n_inner: null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    bos_token_id: eos,
    eos_token_id: eos,
    pad_token_id: tokenizer.padId,
    tie_word_embeddings: true,
  };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(join(dir, 'generation_config.json'), `${JSON.stringify({ bos_token_id: eos, eos_token_id: eos, pad_token_id: tokenizer.padId }, null, 2)}\n`);
}
