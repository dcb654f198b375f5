// CausalLM and RewardModel: thin TypeScript classes over the native engine. They read the
// Hugging Face folder (config.json through config.ts, tokenizer.json through tokenizer.ts),
// turn text into token batches, and hand the numbers to native code.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NativeCausalLM, NativeGenerateOptions, NativeTensor } from '../native/addon.js';
import { native } from '../native/loader.js';
import { checkPreference } from '../moo/preferences.js';
import { writeTextAtomicSync } from '../util/atomic-file.js';
import { withAbortSignal } from './abort.js';
import { type ModelInfo, readModelInfo } from './config.js';
import { Tokenizer } from './tokenizer.js';

export interface ModelLoadOptions {
  /** Compute dtype. Default 'float32'. */
  dtype?: 'float32' | 'bfloat16' | 'float16';
  /** 'cpu' or 'cuda', 'cuda:1', ... Default: MOALIGN_DEVICE, else 'cpu' (so a whole pipeline can be moved with one setting). */
  device?: string;
  /** A peft adapter folder (adapter_config.json + adapter_model.safetensors) to apply. */
  adapter?: string;
}

export interface LoraConfig {
  /** Module-name suffixes: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, or GPT-2's c_attn, c_proj, c_fc. */
  targets: string[];
  /** Default 8. */
  rank?: number;
  /** Default 16 (scaling alpha / rank). */
  alpha?: number;
  /** Seed of A's initialisation. Default 0. */
  seed?: number;
}

/** Panacea's SVD-LoRA (shared/design/panacea.md): one adapter for every trade-off between m
 *  objectives, W(λ) = W₀ + (alpha/k)·U·diag(σ₁..σ_k, s·λ₁..s·λ_m)·Vᵀ, with λ set at run time. */
export interface SvdLoraConfig {
  /** The number of objectives: the preference λ has m entries. */
  m: number;
  /** Free (preference-agnostic) singular values. Default 8. */
  k?: number;
  /** Output scale c = alpha / k (k, not k + m). Default 512, so c = 64 at k = 8. */
  alpha?: number;
  /** Module-name suffixes; each must match a module. Default: every attention and MLP projection
   *  (GPT-2: attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj; Llama: q_proj, k_proj, v_proj,
   *  o_proj, gate_proj, up_proj, down_proj). */
  targetModules?: string[];
  /** Seed of the initial factors. Default 0. */
  seed?: number;
  /** 'zeroDiag' (default: U, V ~ N(0, 0.02²), σ = s = 0) or 'kaiming' (V Kaiming-uniform, U = 0,
   *  σ ~ N(0, 0.02²), s ~ N(0, 0.5²)). Both start at the base model for every λ. */
  init?: 'zeroDiag' | 'kaiming';
  /** Inverted dropout on each adapter's input x (before x·V; the frozen path never sees it), as
   *  peft's lora_dropout, in [0, 1). It acts only inside the trainers (fitSft / fitPreference /
   *  fitDpo), its masks seeded from the trainer's seed per micro-batch; never in generate, logits
   *  or log-probs. Saved in the adapter file. Default 0. Not with activation checkpointing. */
  dropout?: number;
}

/** What an SVD-LoRA file holds besides its tensors (saveSvdLora / loadSvdLora). */
export interface SvdLoraInfo {
  k: number;
  m: number;
  alpha: number;
  targetModules: string[];
  /** The objective names, in the order of λ's entries. */
  objectives: string[];
  /** The base model's fingerprint the adapter was trained on. */
  fingerprint: string;
  init: 'zeroDiag' | 'kaiming';
  /** The adapter-input dropout it was trained with (0 for files written before the option). */
  dropout: number;
}

/** One preference λ (m entries on the simplex), or one per row / prompt. */
export type Preference = number[] | number[][];

/** The default SVD-LoRA targets of a layout: every attention and MLP projection. */
export function defaultSvdLoraTargets(layout: 'gpt2' | 'llama'): string[] {
  return layout === 'gpt2' ? ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
}

/**
 * Preference rows checked against the simplex by moo's checkPreference (m finite, non-negative
 * entries summing to 1 within 1e-6; design §7, pitfall 12). With `normalise`, each row is first
 * divided by its sum (when positive) instead of refused for it. A single λ comes back as one row.
 */
export function preferenceRows(preference: Preference, m: number, options: { normalise?: boolean } = {}): number[][] {
  if (!Array.isArray(preference) || preference.length === 0) throw new RangeError('a preference must be a non-empty array of numbers, or of rows');
  const rows = Array.isArray(preference[0]) ? (preference as number[][]) : [preference as number[]];
  return rows.map((row, i) => {
    const name = rows.length > 1 ? `preference ${i}` : 'preference';
    if (!Array.isArray(row)) throw new RangeError(`${name} must be an array of ${m} numbers`);
    const sum = row.reduce((a, b) => a + b, 0);
    const scaled = options.normalise && sum > 0 && Number.isFinite(sum) && row.every((v) => v >= 0) ? row.map((v) => v / sum) : row;
    return checkPreference(scaled, m, name);
  });
}

/** A (prompt, response) pair of texts. */
export interface TextPair {
  prompt: string;
  response: string;
}

/** Decoding options (documented on NativeGenerateOptions; sampling when temperature, topK or
 *  topP is given and greedy is not), plus what the TS side handles. */
export interface GenerateOptions extends Omit<NativeGenerateOptions, 'eosIds' | 'padId' | 'preferences'> {
  /** SVD-LoRA models: one λ for every prompt (the adapters are merged for the call: base speed,
   *  weights restored exactly after), or one per prompt (unmerged, mixed in one batch). Checked
   *  like setPreference. Default: the model's current preference. */
  preference?: Preference;
  /** The text is cut before the first of these; EOS tokens always stop a row. */
  stop?: string[];
  signal?: AbortSignal;
  onProgress?: (step: number, steps: number) => void;
}

export interface Generation {
  prompt: string;
  text: string;
  /** New token ids, EOS excluded. */
  tokenIds: number[];
}

export interface SequenceScore {
  sum: number;
  mean: number;
  tokens: number;
}

/** A token batch for the native calls: right-padded ids, mask and labels (-100 = no loss). */
export interface TokenBatch {
  ids: NativeTensor;
  mask: NativeTensor;
  labels: NativeTensor;
}

/** Right-pads rows of (ids, labels) into int64 tensors. */
export function tokenBatch(rows: { ids: number[]; labels: number[] }[], padId: number): TokenBatch {
  const T = Math.max(...rows.map((r) => r.ids.length));
  const ids = new BigInt64Array(rows.length * T).fill(BigInt(padId));
  const mask = new BigInt64Array(rows.length * T);
  const labels = new BigInt64Array(rows.length * T).fill(-100n);
  rows.forEach((r, b) =>
    r.ids.forEach((t, i) => {
      ids[b * T + i] = BigInt(t);
      mask[b * T + i] = 1n;
      labels[b * T + i] = BigInt(r.labels[i]);
    }),
  );
  const Tensor = native().Tensor;
  return { ids: new Tensor(ids, [rows.length, T]), mask: new Tensor(mask, [rows.length, T]), labels: new Tensor(labels, [rows.length, T]) };
}

class LoadedModel {
  protected constructor(
    readonly dir: string,
    readonly info: ModelInfo,
    readonly tokenizer: Tokenizer,
    readonly native: NativeCausalLM,
  ) {}

  /** Reads the folder's config and tokenizer, then its weights, or with `initSeed` draws them fresh. */
  protected static async open(dir: string, options: ModelLoadOptions & { initSeed?: number }) {
    const info = readModelInfo(dir, { fresh: options.initSeed !== undefined });
    if (!existsSync(join(dir, 'tokenizer.json'))) throw new Error(`${dir}: no tokenizer.json (moalign needs the model's tokenizer)`);
    const tokenizer = await Tokenizer.load(dir);
    const model = new (native().CausalLM)(dir, info.config, { dtype: options.dtype, device: options.device ?? process.env.MOALIGN_DEVICE ?? 'cpu', initSeed: options.initSeed });
    return { info, tokenizer, model };
  }

  /** The pad id for batches: the tokenizer's, else the config's, else EOS. */
  get padId(): number {
    return this.tokenizer.padId ?? this.info.padTokenId ?? this.tokenizer.eosId ?? 0;
  }

  /** Runs `score` on right-padded batches of `size` pairs (no EOS appended) and concatenates the results. */
  protected batched<T>(pairs: TextPair[], size: number, score: (batch: TokenBatch) => T[]): T[] {
    const out: T[] = [];
    for (let i = 0; i < pairs.length; i += size) {
      out.push(...score(tokenBatch(pairs.slice(i, i + size).map((p) => this.encodePair(p, false)), this.padId)));
    }
    return out;
  }

  /** Prompt ids (chat template when the tokenizer has one) and response ids (with EOS), labels on the response. */
  encodePair(pair: TextPair, appendEos = true): { ids: number[]; labels: number[] } {
    const prompt = this.tokenizer.encodePrompt(pair.prompt);
    const response = this.tokenizer.encode(pair.response, { addSpecialTokens: false });
    const eos = this.tokenizer.eosId ?? this.info.eosTokenIds[0];
    if (appendEos && eos !== undefined) response.push(eos);
    return { ids: [...prompt, ...response], labels: [...prompt.map(() => -100), ...response] };
  }

  get disposed(): boolean {
    return this.native.disposed;
  }
  /** Frees the native weights; safe to call twice. */
  dispose(): void {
    this.native.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A decoder-only language model from a Hugging Face folder, with optional LoRA adapters. */
export class CausalLM extends LoadedModel {
  /** Loads config.json, model.safetensors (or shards) and tokenizer.json from `dir`. */
  static async load(dir: string, options: ModelLoadOptions = {}): Promise<CausalLM> {
    return CausalLM.build(dir, options);
  }

  /**
   * A model to train from scratch: the layout of `dir/config.json` and the tokenizer of
   * `dir/tokenizer.json`, with weights drawn fresh from `seed` (GPT-2's initialisation: normal
   * with std initializer_range (default 0.02), residual projections scaled by 1/sqrt(2 layers),
   * zero biases, unit norm gains). The folder needs no weights; `save(dir)` writes them.
   */
  static async fromScratch(dir: string, options: Omit<ModelLoadOptions, 'adapter'> & { seed?: number } = {}): Promise<CausalLM> {
    return CausalLM.build(dir, { ...options, initSeed: options.seed ?? 0 });
  }

  private static async build(dir: string, options: ModelLoadOptions & { initSeed?: number }): Promise<CausalLM> {
    const { info, tokenizer, model } = await LoadedModel.open(dir, options);
    if (info.classifier) throw new Error(`${dir}: ${info.architecture} is a classifier; load it with RewardModel`);
    const lm = new CausalLM(dir, info, tokenizer, model);
    if (options.adapter) lm.loadAdapter(options.adapter);
    return lm;
  }

  /** Generates a continuation for each prompt (chat template applied when the tokenizer has one).
   *  Prompts longer than the context minus maxNewTokens are cut from the left, with a warning. */
  async generate(prompts: string[], options: GenerateOptions = {}): Promise<Generation[]> {
    const maxNew = options.maxNewTokens ?? 64;
    const room = this.info.config.maxPositions - maxNew;
    if (room < 1) throw new RangeError(`maxNewTokens ${maxNew} leaves no room for a prompt in a context of ${this.info.config.maxPositions}`);
    const ids = prompts.map((p, i) => {
      const t = this.tokenizer.encodePrompt(p);
      if (t.length === 0) throw new RangeError(`prompt ${i} is empty after tokenisation`);
      if (t.length > room) {
        process.emitWarning(`prompt ${i}: ${t.length} tokens cut to the last ${room} to fit the context`, 'MoalignWarning');
        return t.slice(t.length - room);
      }
      return t;
    });
    const sampling = options.temperature !== undefined || options.topK !== undefined || options.topP !== undefined;
    const native: NativeGenerateOptions = {
      maxNewTokens: maxNew,
      greedy: options.greedy ?? !sampling,
      temperature: options.temperature ?? 1,
      topK: options.topK ?? 0,
      topP: options.topP ?? 1,
      seed: options.seed ?? 0,
      eosIds: [...new Set([...this.tokenizer.eosIds, ...this.info.eosTokenIds])],
      padId: this.padId,
      logitBias: options.logitBias,
    };
    if (options.preference !== undefined) {
      const m = this.preferenceDim;
      if (m === 0) throw new Error('a preference was given, but this model has no SVD-LoRA adapters');
      const rows = preferenceRows(options.preference, m);
      if (rows.length !== 1 && rows.length !== prompts.length) throw new RangeError(`${rows.length} preference rows for ${prompts.length} prompts: give one λ, or one per prompt`);
      const all = rows.length === 1 ? prompts.map(() => rows[0]) : rows;
      native.preferences = { values: Float64Array.from(all.flat()), m };
    }
    const result = await withAbortSignal(options.signal, (token) => this.native.generate(ids, native, token, options.onProgress));
    return result.tokens.map((tokenIds, i) => {
      let text = this.tokenizer.decode(tokenIds, { skipSpecialTokens: true });
      for (const s of options.stop ?? []) {
        const at = text.indexOf(s);
        if (at >= 0) text = text.slice(0, at);
      }
      return { prompt: prompts[i], text, tokenIds };
    });
  }

  /** Summed and mean log-probability of each response given its prompt, in batches. */
  logProbs(pairs: TextPair[], options: { batchSize?: number } = {}): SequenceScore[] {
    return this.batched(pairs, options.batchSize ?? 16, (b) => {
      const r = this.native.logProbs(b.ids, b.mask, b.labels);
      return Array.from(r.sum, (sum, k) => ({ sum, mean: r.mean[k], tokens: r.tokens[k] }));
    });
  }

  /** True once addLora, loadAdapter, addSvdLora or loadSvdLora attached an adapter (training then updates it alone). */
  get hasAdapter(): boolean {
    return this.lora !== undefined || this.svd !== undefined;
  }

  /** Attaches Panacea's SVD-LoRA adapters (SvdLoraConfig for the defaults). The model then needs a
   *  preference (setPreference, or generate's `preference`) before any forward pass. */
  addSvdLora(config: SvdLoraConfig): void {
    if (!Number.isInteger(config.m) || config.m < 1) throw new RangeError(`SVD-LoRA: m (the number of objectives) must be an integer >= 1, got ${config.m}`);
    const targets = config.targetModules ?? defaultSvdLoraTargets(this.info.config.layout);
    const dropout = config.dropout ?? 0;
    if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`SVD-LoRA: dropout must lie in [0, 1), got ${dropout}`);
    const settings = { m: config.m, k: config.k ?? 8, alpha: config.alpha ?? 512, init: config.init ?? 'zeroDiag', dropout } as const;
    this.native.addSvdLora({ ...settings, targets, seed: config.seed ?? 0 });
    this.svd = { ...settings, targetModules: targets, objectives: [], fingerprint: '' };
  }

  /** m, the preference dimension, or 0 without SVD-LoRA. */
  get preferenceDim(): number {
    return this.svd?.m ?? 0;
  }

  /** Writes λ into every SVD-LoRA layer: one λ for every row, or one per batch row (the next
   *  batches must then have that many rows). Each λ has m entries on the simplex (within 1e-6);
   *  `normalise: true` rescales non-negative entries to sum to 1 instead of refusing them. */
  setPreference(preference: Preference, options: { normalise?: boolean } = {}): void {
    if (!this.svd) throw new Error('this model has no SVD-LoRA adapters; call addSvdLora or loadSvdLora first');
    const rows = preferenceRows(preference, this.svd.m, options);
    this.native.setPreference(Float64Array.from(rows.flat()), this.svd.m);
  }

  /** Writes the SVD-LoRA adapters (safetensors, atomically) with k, m, alpha, targets, init, dropout, the
   *  layout, the base model's fingerprint and the objective names in the metadata. */
  saveSvdLora(file: string, meta: { objectives: string[] }): void {
    if (!this.svd) throw new Error('this model has no SVD-LoRA adapters to save');
    if (meta.objectives.length !== this.svd.m) throw new RangeError(`${meta.objectives.length} objective names for m = ${this.svd.m} preference slots`);
    mkdirSync(dirname(file), { recursive: true });
    this.native.saveSvdLora(file, { objectives: JSON.stringify(meta.objectives) });
  }

  /** Attaches the SVD-LoRA adapters of a saveSvdLora file. Refuses a file made for another base
   *  model (by fingerprint) or layout, and a corrupt one, naming the problem. */
  loadSvdLora(file: string): SvdLoraInfo {
    const meta = this.native.loadSvdLora(file);
    const objectives = meta.objectives ? (JSON.parse(meta.objectives) as string[]) : [];
    const info: SvdLoraInfo = {
      k: Number(meta.k),
      m: Number(meta.m),
      alpha: Number(meta.alpha),
      targetModules: JSON.parse(meta.targets) as string[],
      objectives,
      fingerprint: meta.fingerprint,
      init: meta.init as SvdLoraInfo['init'],
      dropout: meta.dropout === undefined ? 0 : Number(meta.dropout),
    };
    this.svd = info;
    return info;
  }

  /** A hash of the base model (config, tensor names and shapes, sampled weights rounded to
   *  bfloat16; W₀ when adapters are merged), 16 hex digits: the same for a float32 and a
   *  bfloat16 load of one checkpoint, different for other weights. */
  fingerprint(): string {
    return this.native.fingerprint();
  }

  addLora(config: LoraConfig): void {
    this.native.addLora(config);
    this.lora = config;
  }

  /** Applies a peft adapter folder. */
  loadAdapter(dir: string): void {
    const config = readAdapterConfig(dir);
    this.native.loadLora(dir, config);
    this.lora = config;
  }

  /**
   * Folds `weight` times the peft adapter in `dir` into this model's weights, W += weight·(α/r)·B·A
   * per module, without attaching it (the model keeps no adapter from it). Calls for experts
   * ΔW_i with weights ω_i make the weight soup W₀ + Σ ω_i ΔW_i; `save` then writes it as a plain
   * model. A module missing from the adapter is an error, and then no weight has changed.
   */
  mergeAdapterFrom(dir: string, weight = 1): void {
    if (!Number.isFinite(weight)) throw new RangeError(`the weight of a merged adapter must be finite, got ${weight}`);
    this.native.mergeLoraFrom(dir, readAdapterConfig(dir), weight);
  }

  /** Writes the adapter in peft's format: adapter_config.json + adapter_model.safetensors. */
  saveAdapter(dir: string): void {
    if (!this.lora) throw new Error('this model has no adapter to save');
    mkdirSync(dir, { recursive: true });
    this.native.saveLora(join(dir, 'adapter_model.safetensors'));
    const config = {
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: this.dir,
      r: this.lora.rank ?? 8,
      lora_alpha: this.lora.alpha ?? 16,
      lora_dropout: 0,
      target_modules: this.lora.targets,
      bias: 'none',
      fan_in_fan_out: this.info.config.layout === 'gpt2',
      use_dora: false,
      use_rslora: false,
      inference_mode: true,
    };
    writeTextAtomicSync(join(dir, 'adapter_config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }

  /** A Hugging Face folder: config.json, model.safetensors (original names), tokenizer files. */
  save(dir: string, options: { dtype?: 'float32' | 'bfloat16' | 'float16' } = {}): void {
    mkdirSync(dir, { recursive: true });
    this.native.save(join(dir, 'model.safetensors'), options.dtype);
    copyModelFiles(this.dir, dir);
  }

  private lora: LoraConfig | undefined;
  private svd: SvdLoraInfo | undefined;
}

/** Copies the files of a model folder other than its weights (config, tokenizer) from `from` to `to`. */
export function copyModelFiles(from: string, to: string): void {
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'])
    if (existsSync(join(from, f)) && join(from, f) !== join(to, f)) copyFileSync(join(from, f), join(to, f));
}

/** The LoRA settings of a peft adapter folder (its adapter_config.json); other peft types refused. */
export function readAdapterConfig(dir: string): Required<Omit<LoraConfig, 'seed'>> {
  const file = join(dir, 'adapter_config.json');
  if (!existsSync(file)) throw new Error(`${file}: not found`);
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as { peft_type?: string; r?: number; lora_alpha?: number; target_modules?: string[] | string; use_dora?: boolean; use_rslora?: boolean };
  if (cfg.peft_type !== 'LORA') throw new Error(`${file}: peft_type ${cfg.peft_type} is not supported (LORA only)`);
  if (cfg.use_dora || cfg.use_rslora) throw new Error(`${file}: DoRA and rsLoRA are not supported`);
  const targets = typeof cfg.target_modules === 'string' ? [cfg.target_modules] : (cfg.target_modules ?? []);
  return { targets, rank: cfg.r ?? 8, alpha: cfg.lora_alpha ?? 8 };
}

/** A Hugging Face *ForSequenceClassification model used as a reward model. */
export class RewardModel extends LoadedModel {
  static async load(dir: string, options: ModelLoadOptions = {}): Promise<RewardModel> {
    const { info, tokenizer, model } = await LoadedModel.open(dir, options);
    if (!info.classifier) throw new Error(`${dir}: ${info.architecture} has no classification head; a reward model is a *ForSequenceClassification`);
    return new RewardModel(dir, info, tokenizer, model);
  }

  /** The score of each (prompt, response): the head's first output at the last token. */
  score(pairs: TextPair[], options: { batchSize?: number } = {}): number[] {
    const labels = this.info.config.numLabels ?? 1;
    return this.batched(pairs, options.batchSize ?? 16, (b) => {
      const s = this.native.scores(b.ids, b.mask).toArray() as Float32Array;
      return Array.from({ length: s.length / labels }, (_, k) => s[k * labels]);
    });
  }
}
