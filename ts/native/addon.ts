// The whole native surface of moalign.node, typed in one place. Everything the C++ layer
// (native/napi) exports is declared here; nothing else in ts/ talks to the binary directly.

/** Typed arrays that cross the boundary, and the dtype each one carries. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array;
export type DType = 'float32' | 'float64' | 'int32' | 'int64';

/** A libtorch tensor owned by native code until dispose() or garbage collection. */
export interface NativeTensor {
  /** Sizes, outermost first. */
  readonly shape: number[];
  readonly dtype: DType;
  /** "cpu", "cuda:0", ... */
  readonly device: string;
  readonly requiresGrad: boolean;
  /** True after dispose(); any other use then throws ERR_MOALIGN_DISPOSED. */
  readonly disposed: boolean;
  /** The values, row-major. Zero-copy for contiguous CPU tensors: the array shares the tensor's
   *  storage (and keeps it alive after dispose()), so in-place native updates show through. */
  toArray(): TensorData;
  matmul(other: NativeTensor): NativeTensor;
  mul(other: NativeTensor): NativeTensor;
  add(other: NativeTensor): NativeTensor;
  sum(): NativeTensor;
  /** Back-propagates from this scalar into every leaf created with requiresGrad. */
  backward(): void;
  /** The accumulated gradient of a leaf, or null before any backward() reached it. */
  grad(): NativeTensor | null;
  /** Frees the native tensor now; safe to call twice. */
  dispose(): void;
  [Symbol.dispose](): void;
}

export interface NativeTensorConstructor {
  /** Copies `data` (shape's product must equal its length) into a new native tensor. */
  new (data: TensorData, shape: readonly number[], requiresGrad?: boolean): NativeTensor;
}

/** The native half of an AbortSignal: cancel() makes running native work stop at its next check. */
export interface NativeCancelToken {
  cancel(): void;
  readonly cancelled: boolean;
}

export interface BuildInfo {
  /** libtorch headers the binary was compiled against. */
  torchVersion: string;
  cxx11Abi: 0 | 1;
  cudaCompiled: boolean;
  compiler: string;
  napiVersion: number;
}

export interface CudaDevice {
  index: number;
  name: string;
  /** Bytes. */
  totalMemory: number;
}

export interface RuntimeInfo {
  numThreads: number;
  numInteropThreads: number;
  cudaAvailable: boolean;
  cudaDevices: CudaDevice[];
  /** libtorch's own summary of its thread pools and math libraries. */
  parallelInfo: string;
}

export interface MatmulBenchOptions {
  /** n of the (n, n) @ (n, n) product. Default 512. */
  size?: number;
  /** Timed products after one warm-up. Default 10. */
  iterations?: number;
  /** Default "float32". */
  dtype?: 'float32' | 'float64';
  /** "cpu" (default), "cuda", "cuda:1". */
  device?: string;
}

export interface MatmulBenchResult {
  iterations: number;
  seconds: number;
  gflops: number;
  /** Intra-op threads the work actually ran with. */
  threads: number;
  device: string;
}

/** One adapter setting of benchmarkBlock, applied before each of its turns. */
export interface BlockBenchVariant {
  name: string;
  /** false: the frozen base block (adapters switched off). */
  adapters: boolean;
  /** SVD-LoRA λ: one row for the whole batch or one per batch row (row-major, m values each);
   *  absent: the model's current preference. */
  preference?: { values: Float64Array | number[]; m: number };
}

export interface BlockBenchOptions {
  /** Default 0. */
  layer?: number;
  /** Untimed calls per variant before the first repeat. Default 2. */
  warmup?: number;
  /** Timed samples per variant; the variants take turns within each repeat. Default 7. */
  repeats?: number;
  /** Calls per sample (a sample is their mean). Default 1. */
  iterations?: number;
  variants: BlockBenchVariant[];
}

export interface BlockBenchResult {
  variants: {
    name: string;
    /** Milliseconds per call (forward + backward), one per repeat. */
    ms: Float64Array;
    /** Of one more call: the output's sum and the norm of the gradient with respect to x. */
    outputSum: number;
    inputGradNorm: number;
  }[];
  /** Intra-op threads the work ran with. */
  threads: number;
  device: string;
}

/** Error codes native calls reject or throw with (in `error.code`). */
export type NativeErrorCode =
  | 'ERR_MOALIGN_INVALID_ARGUMENT'
  | 'ERR_MOALIGN_TORCH'
  | 'ERR_MOALIGN_NATIVE'
  | 'ERR_MOALIGN_DISPOSED'
  | 'ABORT_ERR';

/** The shape of a decoder-only LM (ts/engine/config.ts reads it from a Hugging Face config.json). */
export interface NativeModelConfig {
  layout: 'gpt2' | 'llama';
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Default numHeads (no grouped-query attention). */
  numKvHeads?: number;
  /** Default hiddenSize / numHeads. */
  headDim?: number;
  intermediateSize: number;
  maxPositions: number;
  normEps?: number;
  ropeTheta?: number;
  /** Llama layout with q/k/v biases (Qwen2). */
  qkvBias?: boolean;
  tieEmbeddings?: boolean;
  /** > 0: a sequence-classification head `score` instead of the LM head. */
  numLabels?: number;
  /** Tensor-name prefix of the body: "transformer." (GPT-2), "model." (Llama), or "". */
  prefix?: string;
  /** Std of freshly drawn weights (config.json's initializer_range). Default 0.02. */
  initializerRange?: number;
}

export interface NativeLoraOptions {
  /** Module-name suffixes, e.g. ["q_proj", "v_proj"] or ["c_attn"]. */
  targets: string[];
  rank?: number;
  alpha?: number;
  seed?: number;
}

/** Panacea's SVD-LoRA (shared/design/panacea.md): W(λ) = W₀ + (alpha/k)·U·diag(σ₁..σ_k, s·λ₁..s·λ_m)·Vᵀ. */
export interface NativeSvdLoraOptions {
  /** Module-name suffixes; every one must match a module. */
  targets: string[];
  /** The number of objectives (preference slots). Required. */
  m: number;
  /** Free singular values. Default 8. */
  k?: number;
  /** c = alpha / k. Default 512. */
  alpha?: number;
  seed?: number;
  /** 'zeroDiag' (default: U, V ~ N(0, 0.02²), σ = s = 0) or 'kaiming'. */
  init?: 'zeroDiag' | 'kaiming';
  /** Inverted dropout on the adapter's input, in [0, 1), in the trainers only. Default 0. */
  dropout?: number;
}

/** Preference rows, flat and row-major: values.length = rows · m. */
export interface NativePreferences {
  values: Float64Array | number[];
  m: number;
}

export interface NativeGenerateOptions {
  /** Default 64. */
  maxNewTokens?: number;
  /** Greedy decoding (default true); false samples with temperature / topK / topP. */
  greedy?: boolean;
  /** Default 1. */
  temperature?: number;
  /** 0 (default) = no limit. */
  topK?: number;
  /** 1 (default) = no limit. */
  topP?: number;
  /** Sampling seed. Default 0. */
  seed?: number;
  eosIds?: number[];
  padId?: number;
  /** Added to the logits of these token ids before decoding (OpenAI's logit_bias): > 0 steers
   *  toward a token, < 0 away from it. Keys are token ids. Default none. */
  logitBias?: Record<number, number>;
  /** SVD-LoRA models: one preference per prompt (rows = prompts). All rows equal: the adapters are
   *  merged for the call and restored exactly after it. Default: the model's current preference. */
  preferences?: NativePreferences;
}

export interface NativeGenerateResult {
  /** New tokens per prompt, EOS excluded. */
  tokens: number[][];
  stoppedAtEos: boolean[];
  generated: number;
  seconds: number;
}

/** A Hugging Face decoder-only model (or reward model) held by native code. Token tensors are
 *  int32 or int64 (B, T); attention masks (B, T) with 1 for tokens and 0 for padding, either side. */
export interface NativeCausalLM {
  /** (B, T, V) float32. */
  logits(ids: NativeTensor, attentionMask?: NativeTensor): NativeTensor;
  /** (B, numLabels) float32: the score at each row's last token. */
  scores(ids: NativeTensor, attentionMask?: NativeTensor): NativeTensor;
  /** Mean causal-LM loss over labels != -100 (shifted inside); backward=true accumulates gradients. */
  loss(ids: NativeTensor, attentionMask: NativeTensor | undefined, labels: NativeTensor, backward?: boolean): number;
  logProbs(ids: NativeTensor, attentionMask: NativeTensor | undefined, labels: NativeTensor): { sum: Float64Array; mean: Float64Array; tokens: Int32Array };
  /** DPO on pairs (row i of chosen and rejected share a prompt); the reference is this model with
   *  its adapters switched off. Rewards are beta * (policy - reference) summed response log-probs. */
  dpoLoss(
    chosenIds: NativeTensor,
    chosenMask: NativeTensor | undefined,
    chosenLabels: NativeTensor,
    rejectedIds: NativeTensor,
    rejectedMask: NativeTensor | undefined,
    rejectedLabels: NativeTensor,
    beta: number,
    backward?: boolean,
  ): { loss: number; chosenRewards: Float64Array; rejectedRewards: Float64Array };
  generate(
    prompts: number[][],
    options: NativeGenerateOptions,
    cancel?: NativeCancelToken,
    onProgress?: (done: number, total: number) => void,
  ): Promise<NativeGenerateResult>;
  parameterNames(trainableOnly?: boolean): string[];
  parameter(name: string): NativeTensor;
  setFullFinetune(trainable: boolean): void;
  addLora(options: NativeLoraOptions): void;
  /** Reads peft's adapter_model.safetensors from `dir`. */
  loadLora(dir: string, options: NativeLoraOptions): void;
  /** Adds scale · (alpha / rank) · B·A of each module of the peft adapter in `dir` into the base
   *  weights, in place, with no adapter attached (a weight soup: calls with weights w_i give
   *  W₀ + Σ w_i ΔW_i). All modules are checked before any weight changes. */
  mergeLoraFrom(dir: string, options: NativeLoraOptions, scale: number): void;
  /** Writes the adapter tensors under peft's names, atomically. */
  saveLora(file: string): void;
  setAdaptersEnabled(enabled: boolean): void;
  mergeAdapters(): void;
  unmergeAdapters(): void;
  /** Attaches SVD-LoRA adapters; a target suffix that matches no module is an error listing the model's projections. */
  addSvdLora(options: NativeSvdLoraOptions): void;
  /** Writes λ into every SVD-LoRA layer: one row (m values) for every sample, or one row per
   *  batch row. Every row must lie on the simplex within 1e-6. Merged adapters follow a single λ. */
  setPreference(values: Float64Array | number[], m: number): void;
  /** m, or 0 without SVD-LoRA. */
  preferenceDim(): number;
  /** U, V, σ, s of every module as base_model.model.<module>.svd_lora_{U,V,sigma,s}, with metadata
   *  format, k, m, alpha, init, targets (JSON), layout, fingerprint and `extra`, atomically. */
  saveSvdLora(file: string, extra: Record<string, string>): void;
  /** Attaches the adapters of a saveSvdLora file and returns its metadata; refuses another base
   *  model (fingerprint) or layout. */
  loadSvdLora(file: string): Record<string, string>;
  /** 16 hex digits over the config, tensor names, shapes and a bfloat16-rounded sample of the base
   *  weights (W₀ when merged): the same for float32 and bfloat16 loads of one checkpoint. */
  fingerprint(): string;
  /** model.safetensors with the original names; dtype 'float32' | 'bfloat16' | 'float16' or the compute dtype. */
  save(file: string, dtype?: string): void;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeTrainOptions {
  /** Optimiser steps. Default 100. */
  steps?: number;
  /** Examples per micro-batch. Default 8. */
  batchSize?: number;
  /** Micro-batches per optimiser step. Default 1. */
  gradAccum?: number;
  /** Peak learning rate. Default 1e-4. */
  lr?: number;
  /** Linear warm-up steps. Default 0. */
  warmupSteps?: number;
  /** Decay after warm-up. Default 'linear'. */
  schedule?: 'linear' | 'cosine' | 'constant';
  /** Decay floor as a fraction of lr. Default 0. */
  minLrRatio?: number;
  /** AdamW's decoupled weight decay. Default 0. */
  weightDecay?: number;
  /** AdamW moments. Defaults 0.9, 0.999, 1e-8. */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Gradient clipping by global norm; 0 = off. Default 1. */
  maxGradNorm?: number;
  /** Data-order seed. Default 0. */
  seed?: number;
  /** Token that pads batches. Default 0. */
  padId?: number;
  /** Where checkpoints go (weights or adapter, optimiser state, step, data position); a run resumes from it. */
  checkpointDir?: string;
  /** Checkpoint every N steps (and at the end, and on abort). Default 0: only then. */
  checkpointEvery?: number;
  /** Continue from checkpointDir's checkpoint when there is one. Default true. */
  resume?: boolean;
  /** Mixed precision: 'bfloat16' runs the forward pass under autocast (CUDA, and CPU too);
   *  weights, gradients and optimiser state stay float32. Default off. */
  autocast?: 'bfloat16';
  /** Keep only each block's input and recompute its activations in backward: less memory for
   *  about one more forward pass of time. Default false. */
  activationCheckpointing?: boolean;
}

export interface NativeTrainReport {
  /** One per optimiser step since step 0 (a resumed run includes the earlier steps). */
  losses: Float64Array;
  startStep: number;
  tokens: number;
  seconds: number;
}

/** Preference training (DPO / multi-objective, design panacea.md §6) on top of the loop's options. */
export interface NativePreferenceOptions extends NativeTrainOptions {
  /** 'dpo': pairs with labels o_i ∈ {-1, 0, 1}; 'sft': responses with weights w_i ≥ 0. Default 'dpo'. */
  objective?: 'dpo' | 'sft';
  /** DPO β. Default 0.1. */
  dpoBeta?: number;
  /** 'ls': Σ λ_i L_i; 'tche': max_i λ_i (L_i − z_i). Default 'ls'. */
  aggregation?: 'ls' | 'tche';
  /** Tchebycheff ideal point z (m), a lower bound of each loss. Default zeros. */
  tcheIdeal?: number[];
  /** μ > 0: smooth Tchebycheff μ log Σ exp(λ_i (L_i − z_i) / μ). Default 0 (the hard max). */
  tcheSmoothing?: number;
  /** A fresh λ per optimiser step, micro-batch or item ('sample': 'ls' only). Default 'step'. */
  lambdaPer?: 'step' | 'microbatch' | 'sample';
  /** Chance of a uniformly drawn one-hot λ instead of Dirichlet(1). Default 0.1. */
  vertexProb?: number;
  /** This λ (on the simplex, length m) every step instead of sampling. */
  fixedPreference?: number[];
  /** w ≥ 0 (SVD-LoRA only): adds w · Σ_modules (‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F) once per optimiser
   *  step to the loss (AdaLoRA's orthogonality regulariser; gradient 4w·U(UᵀU − I), same for V).
   *  The logged step loss includes it, the objective losses do not. Default 0 (off). */
  orthRegWeight?: number;
}

/** Token rows in CSR layout: ids and labels share offsets; label -100 = no loss. */
export interface NativeTokenRows {
  ids: Int32Array;
  labels: Int32Array;
  offsets: Int32Array;
}

export interface NativePreferenceReport extends NativeTrainReport {
  /** The λ of each step since step 0 (the first micro-batch's first row). */
  lambdas: number[][];
  /** Each step's per-objective losses L_i (mean over its micro-batches; NaN where no item carried objective i). */
  objectiveLosses: number[][];
  /** Micro-batches in which some objective had no item. */
  missingObjectiveEvents: number;
}

/** Options of selectParetoHq (paretohqd.md §2–5); defaults as in native/core/moo/select_pareto_hq.h. */
export interface NativeSelectOptions {
  /** Samples per preference. Default 100. */
  k?: number;
  /** Bounds: these quantiles of each objective over the pool. Defaults 0 and 1 (min and max). */
  lowerQuantile?: number;
  upperQuantile?: number;
  /** Fixed bounds (m) each, instead of the quantiles (give both or neither). */
  lo?: number[];
  hi?: number[];
  /** Default 'perpendicular'. */
  distance?: 'perpendicular' | 'angular';
  /** N_min; 0 (default) = max(20·k·P, 5000). */
  poolMin?: number;
  /** A fixed number of Pareto layers; 0 (default) = the N_min rule. */
  layers?: number;
  /** Objective names, for error messages. */
  objectives?: string[];
}

/** One preference's selection, nearest first. */
export interface NativePreferenceSelection {
  /** Rows of the reward matrix. */
  rows: Int32Array;
  distances: Float64Array;
  /** 1-based Pareto front of each row. */
  fronts: Int32Array;
}

export interface NativeSelection {
  lo: number[];
  hi: number[];
  /** (P, m): the preferences used, each divided by its sum. */
  preferences: Float64Array;
  /** N_min the rule used; 0 with fixed layers. */
  poolMin: number;
  /** L: Pareto layers in the candidate set. */
  layers: number;
  /** |D^Pareto|. */
  candidates: number;
  /** n < N_min (every front was taken), or fewer fronts than the fixed layers asked for. */
  poolShort: boolean;
  /** Fewer candidates than k: each preference took all of them. */
  fewerThanK: boolean;
  /** (n) 1-based front of each row within the first L; 0 = not a candidate. */
  ranks: Int32Array;
  selections: NativePreferenceSelection[];
}

export interface NativeAddon {
  Tensor: NativeTensorConstructor;
  /** Reads the weights from `dir`, or, with `initSeed`, draws them fresh (GPT-2's initialisation). */
  CausalLM: new (dir: string, config: NativeModelConfig, options?: { dtype?: string; device?: string; initSeed?: number }) => NativeCausalLM;
  CancelToken: new () => NativeCancelToken;
  buildInfo(): BuildInfo;
  runtimeInfo(): RuntimeInfo;
  /**
   * GPU seconds this process has spent so far: the device-side span of every generation, scoring
   * and training call that ran on a CUDA device. 0 when nothing ran on a GPU.
   */
  deviceSeconds(): number;
  /** libtorch intra-op threads, for this and every later native call. */
  setNumThreads(n: number): void;
  /** Once per process, before any inter-op work; later calls throw. */
  setNumInteropThreads(n: number): void;
  /** Runs off the JS thread; onProgress(done, total) after each product. */
  benchmarkMatmul(
    options: MatmulBenchOptions,
    cancel?: NativeCancelToken,
    onProgress?: (done: number, total: number) => void,
  ): Promise<MatmulBenchResult>;
  /** Forward + backward of one transformer block of `model` on hidden states x (B, T, C), under
   *  each variant (native/core/block_bench.h): out = block(x), out.backward(grad) with grad (B, T,
   *  C), gradients dropped after every call. Runs off the JS thread; onProgress(done, total) after
   *  each repeat. Leaves the adapters enabled and the last variant's preference set. */
  benchmarkBlock(
    model: NativeCausalLM,
    x: NativeTensor,
    grad: NativeTensor,
    options: BlockBenchOptions,
    cancel?: NativeCancelToken,
    onProgress?: (done: number, total: number) => void,
  ): Promise<BlockBenchResult>;

  // ---- multi-objective core (native/core/moo). Points: row-major Float64Array with m columns,
  // maximised; `minimise` flags objectives (1) whose sign the core flips, points and ref alike.
  /** 1-based ranks; 0 = left unranked by stopAfterPoints / maxFronts (0 = no limit for either). */
  paretoRanks(points: Float64Array, m: number, minimise: Uint8Array | undefined, stopAfterPoints: number, maxFronts: number): Int32Array;
  hypervolume(points: Float64Array, m: number, ref: Float64Array, minimise: Uint8Array | undefined): { hypervolume: number; dropped: number };
  hypervolumeContributions(
    points: Float64Array,
    m: number,
    ref: Float64Array,
    minimise: Uint8Array | undefined,
  ): { contributions: Float64Array; dropped: number };
  /** Fronts in CSR layout; ref has m values, or fronts*m when refPerFront. tensorDevice: the
   *  tensor path on that device ('cpu', 'cuda'); undefined: exact sweeps on every CPU thread. */
  hypervolumeBatch(
    points: Float64Array,
    offsets: Int32Array,
    m: number,
    ref: Float64Array,
    refPerFront: boolean,
    minimise: Uint8Array | undefined,
    tensorDevice: string | undefined,
    cancel?: NativeCancelToken,
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ hypervolume: Float64Array; dropped: Int32Array }>;
  /** SFT in native code. Examples in CSR layout (ids and labels share offsets; label -100 = no loss).
   *  onProgress(step, steps, loss, lr, gradNorm, tokensPerSecond, elapsedSeconds) after each step. */
  trainSft(
    model: NativeCausalLM,
    ids: Int32Array,
    labels: Int32Array,
    offsets: Int32Array,
    options: NativeTrainOptions,
    cancel?: NativeCancelToken,
    onProgress?: (step: number, steps: number, loss: number, lr: number, gradNorm: number, tokensPerSecond: number, elapsedSeconds: number) => void,
  ): Promise<NativeTrainReport>;
  /** Preference training in native code: DPO pairs (chosen = response a, rejected = response b)
   *  or SFT responses (rejected undefined), with labels a row-major (n, m) Float64Array.
   *  onProgress gets the trainSft numbers followed by the step's λ (m) and objective losses (m). */
  trainPreference(
    model: NativeCausalLM,
    chosen: NativeTokenRows,
    rejected: NativeTokenRows | undefined,
    labels: Float64Array,
    options: NativePreferenceOptions,
    cancel?: NativeCancelToken,
    onProgress?: (step: number, steps: number, loss: number, lr: number, gradNorm: number, tokensPerSecond: number, elapsedSeconds: number, ...lambdaThenLosses: number[]) => void,
  ): Promise<NativePreferenceReport>;
  /** Σ_i weights[i] · θ_i, tensor by tensor, over the `<stem>.safetensors` (or shards) of each
   *  folder in `dirs` ("model" for full checkpoints, "adapter_model" for peft adapters), written
   *  atomically to `outFile`. Float tensors are summed in float32 and stored as `dtype` (default:
   *  each tensor's dtype in the first folder); integer tensors must be equal and are copied.
   *  Throws, writing nothing, when the folders differ in tensor names or shapes. */
  interpolateCheckpoints(dirs: string[], weights: number[], stem: string, outFile: string, dtype?: 'float32' | 'bfloat16' | 'float16'): void;
  normalisationBounds(fronts: Float64Array[], m: number, hvMargin: number): { lo: number[]; hi: number[] };
  /** ParetoHqD's data selection off the JS thread: rewards (n, m) raw, maximised; preferences (P, m). */
  selectParetoHq(rewards: Float64Array, m: number, preferences: Float64Array, options: NativeSelectOptions, cancel?: NativeCancelToken): Promise<NativeSelection>;
  frontMetrics(
    points: Float64Array,
    preferences: Float64Array,
    m: number,
    options: { space: 'normalized' | 'raw'; lo?: Float64Array; hi?: Float64Array; ref?: Float64Array; sparsity: string; spacing: string },
  ): { hypervolume: number; hvDropped: number; innerProduct: number; sparsity: number; nNondominated: number; spacing: number };
}
