// Hugging Face config.json -> the native model shape. Validated with zod; anything the engine
// cannot reproduce exactly (another architecture, rope scaling, an exact-erf GELU) is refused
// with its name rather than run wrongly.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { NativeModelConfig } from '../native/addon.js';

const gpt2Schema = z.object({
  model_type: z.literal('gpt2'),
  architectures: z.array(z.string()).optional(),
  vocab_size: z.number().int().positive(),
  n_embd: z.number().int().positive(),
  n_layer: z.number().int().positive(),
  n_head: z.number().int().positive(),
  n_inner: z.number().int().positive().nullish(),
  n_positions: z.number().int().positive(),
  layer_norm_epsilon: z.number().positive().default(1e-5),
  activation_function: z.string().default('gelu_new'),
  scale_attn_by_inverse_layer_idx: z.boolean().default(false),
  scale_attn_weights: z.boolean().default(true),
  tie_word_embeddings: z.boolean().default(true),
  id2label: z.record(z.string(), z.string()).optional(),
  num_labels: z.number().int().positive().optional(),
  pad_token_id: z.number().int().nullish(),
  eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
  bos_token_id: z.number().int().nullish(),
});

const llamaSchema = z.object({
  model_type: z.enum(['llama', 'qwen2']),
  architectures: z.array(z.string()).optional(),
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive().nullish(),
  head_dim: z.number().int().positive().nullish(),
  intermediate_size: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive(),
  rms_norm_eps: z.number().positive().default(1e-6),
  hidden_act: z.string().default('silu'),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  rope_theta: z.number().positive().optional(),
  rope_parameters: z.object({ rope_theta: z.number().positive().optional(), rope_type: z.string().optional() }).passthrough().nullish(),
  rope_scaling: z.object({ rope_type: z.string().optional(), type: z.string().optional() }).passthrough().nullish(),
  use_sliding_window: z.boolean().optional(),
  tie_word_embeddings: z.boolean().default(false),
  id2label: z.record(z.string(), z.string()).optional(),
  num_labels: z.number().int().positive().optional(),
  pad_token_id: z.number().int().nullish(),
  eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
  bos_token_id: z.number().int().nullish(),
});

/** What moalign needs from a model folder's config.json, plus the token ids it names. */
export interface ModelInfo {
  config: NativeModelConfig;
  /** "GPT2LMHeadModel", "LlamaForSequenceClassification", ... */
  architecture: string;
  /** True for *ForSequenceClassification (a reward model). */
  classifier: boolean;
  padTokenId?: number;
  eosTokenIds: number[];
  bosTokenId?: number;
}

function fail(file: string, message: string): never {
  throw new Error(`${file}: ${message}`);
}

function readJson(file: string): unknown {
  if (!existsSync(file)) fail(file, 'not found');
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    fail(file, `not valid JSON (${(err as Error).message})`);
  }
}

/** Tensor names in a folder's model.safetensors (or its shards' index), from the header only. */
export function checkpointTensorNames(dir: string): string[] {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) {
    const fd = openSync(single, 'r');
    try {
      const len = Buffer.alloc(8);
      if (readSync(fd, len, 0, 8, 0) !== 8) fail(single, 'truncated: shorter than the 8-byte header length');
      const n = Number(len.readBigUInt64LE(0));
      if (n > 100 * 1024 * 1024) fail(single, `implausible header length ${n}: not a safetensors file?`);
      const header = Buffer.alloc(n);
      if (readSync(fd, header, 0, n, 8) !== n) fail(single, 'truncated header');
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(header.toString('utf8')) as Record<string, unknown>;
      } catch {
        fail(single, 'corrupt safetensors header (not JSON)');
      }
      return Object.keys(parsed).filter((k) => k !== '__metadata__');
    } finally {
      closeSync(fd);
    }
  }
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const parsed = z.object({ weight_map: z.record(z.string(), z.string()) }).safeParse(readJson(index));
    if (!parsed.success) fail(index, 'no weight_map');
    return Object.keys(parsed.data.weight_map);
  }
  fail(dir, 'no model.safetensors or model.safetensors.index.json');
}

function eosList(v: number | number[] | null | undefined): number[] {
  return v == null ? [] : Array.isArray(v) ? v : [v];
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Reads `dir/config.json` (and the checkpoint's tensor names, for GPT-2's name prefix). */
export function readModelInfo(dir: string): ModelInfo {
  const file = join(dir, 'config.json');
  const raw = readJson(file) as { model_type?: unknown; architectures?: unknown };
  const type = typeof raw.model_type === 'string' ? raw.model_type : undefined;
  if (type === undefined) fail(file, 'no model_type');
  const architecture = Array.isArray(raw.architectures) && typeof raw.architectures[0] === 'string' ? raw.architectures[0] : type;
  const classifier = architecture.endsWith('ForSequenceClassification');
  if (type === 'gpt2') {
    const parsed = gpt2Schema.safeParse(raw);
    if (!parsed.success) fail(file, issues(parsed.error));
    const c = parsed.data;
    if (!['gelu_new', 'gelu_pytorch_tanh'].includes(c.activation_function))
      fail(file, `activation_function ${c.activation_function} is not supported (gelu_new / gelu_pytorch_tanh only)`);
    if (c.scale_attn_by_inverse_layer_idx || !c.scale_attn_weights) fail(file, 'non-default GPT-2 attention scaling is not supported');
    const names = checkpointTensorNames(dir);
    const prefix = names.includes('transformer.wte.weight') ? 'transformer.' : names.includes('wte.weight') ? '' : 'transformer.';
    return {
      config: {
        layout: 'gpt2',
        vocabSize: c.vocab_size,
        hiddenSize: c.n_embd,
        numLayers: c.n_layer,
        numHeads: c.n_head,
        numKvHeads: c.n_head,
        headDim: c.n_embd / c.n_head,
        intermediateSize: c.n_inner ?? 4 * c.n_embd,
        maxPositions: c.n_positions,
        normEps: c.layer_norm_epsilon,
        tieEmbeddings: c.tie_word_embeddings,
        numLabels: classifier ? (c.num_labels ?? Object.keys(c.id2label ?? { 0: '', 1: '' }).length) : 0,
        prefix,
      },
      architecture,
      classifier,
      padTokenId: c.pad_token_id ?? undefined,
      eosTokenIds: eosList(c.eos_token_id),
      bosTokenId: c.bos_token_id ?? undefined,
    };
  }
  if (type === 'llama' || type === 'qwen2') {
    const parsed = llamaSchema.safeParse(raw);
    if (!parsed.success) fail(file, issues(parsed.error));
    const c = parsed.data;
    if (c.hidden_act !== 'silu') fail(file, `hidden_act ${c.hidden_act} is not supported (silu only)`);
    if (c.mlp_bias) fail(file, 'mlp_bias is not supported');
    if (type === 'llama' && c.attention_bias) fail(file, 'attention_bias (biases on q/k/v/o) is not supported for llama');
    const ropeType = c.rope_parameters?.rope_type ?? c.rope_scaling?.rope_type ?? c.rope_scaling?.type ?? 'default';
    if (ropeType !== 'default') fail(file, `rope type ${ropeType} (rope scaling) is not supported`);
    if (c.use_sliding_window) fail(file, 'sliding-window attention is not supported');
    return {
      config: {
        layout: 'llama',
        vocabSize: c.vocab_size,
        hiddenSize: c.hidden_size,
        numLayers: c.num_hidden_layers,
        numHeads: c.num_attention_heads,
        numKvHeads: c.num_key_value_heads ?? c.num_attention_heads,
        headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
        intermediateSize: c.intermediate_size,
        maxPositions: c.max_position_embeddings,
        normEps: c.rms_norm_eps,
        ropeTheta: c.rope_parameters?.rope_theta ?? c.rope_theta ?? 10000,
        qkvBias: type === 'qwen2',
        tieEmbeddings: c.tie_word_embeddings,
        numLabels: classifier ? (c.num_labels ?? Object.keys(c.id2label ?? { 0: '', 1: '' }).length) : 0,
        prefix: 'model.',
      },
      architecture,
      classifier,
      padTokenId: c.pad_token_id ?? undefined,
      eosTokenIds: eosList(c.eos_token_id),
      bosTokenId: c.bos_token_id ?? undefined,
    };
  }
  fail(file, `unsupported architecture ${architecture} (model_type ${type}); moalign runs the gpt2, llama and qwen2 layouts`);
}
