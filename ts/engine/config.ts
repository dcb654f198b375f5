// Hugging Face config.json -> the native model shape. Validated with zod; anything the engine
// cannot reproduce exactly (another architecture, rope scaling, an exact-erf GELU) is refused
// with its name rather than run wrongly.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { NativeModelConfig } from '../native/addon.js';

// What every supported config.json has besides its layout: the head and the special token ids.
const sharedFields = {
  architectures: z.array(z.string()).optional(),
  vocab_size: z.number().int().positive(),
  id2label: z.record(z.string(), z.string()).optional(),
  num_labels: z.number().int().positive().optional(),
  pad_token_id: z.number().int().nullish(),
  eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
  bos_token_id: z.number().int().nullish(),
  initializer_range: z.number().positive().optional(),
};

const gpt2Schema = z.object({
  ...sharedFields,
  model_type: z.literal('gpt2'),
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
});

const llamaSchema = z.object({
  ...sharedFields,
  model_type: z.enum(['llama', 'qwen2']),
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

/** Reads `dir/config.json` (and the checkpoint's tensor names, for GPT-2's name prefix). With
 *  `fresh`, the folder has no weights yet: GPT-2 gets transformers' own prefix "transformer.". */
export function readModelInfo(dir: string, options: { fresh?: boolean } = {}): ModelInfo {
  const file = join(dir, 'config.json');
  const raw = readJson(file) as { model_type?: unknown; architectures?: unknown };
  const type = typeof raw.model_type === 'string' ? raw.model_type : undefined;
  if (type === undefined) fail(file, 'no model_type');
  const architecture = Array.isArray(raw.architectures) && typeof raw.architectures[0] === 'string' ? raw.architectures[0] : type;
  const classifier = architecture.endsWith('ForSequenceClassification');
  const parse = <T extends z.ZodType>(schema: T): z.infer<T> => {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) fail(file, issues(parsed.error));
    return parsed.data;
  };
  let c: z.infer<typeof gpt2Schema> | z.infer<typeof llamaSchema>;
  let layout: Omit<NativeModelConfig, 'vocabSize' | 'numLabels'>;
  if (type === 'gpt2') {
    const g = parse(gpt2Schema);
    if (!['gelu_new', 'gelu_pytorch_tanh'].includes(g.activation_function))
      fail(file, `activation_function ${g.activation_function} is not supported (gelu_new / gelu_pytorch_tanh only)`);
    if (g.scale_attn_by_inverse_layer_idx || !g.scale_attn_weights) fail(file, 'non-default GPT-2 attention scaling is not supported');
    const names = options.fresh ? ['transformer.wte.weight'] : checkpointTensorNames(dir);
    c = g;
    layout = {
      layout: 'gpt2',
      hiddenSize: g.n_embd,
      numLayers: g.n_layer,
      numHeads: g.n_head,
      numKvHeads: g.n_head,
      headDim: g.n_embd / g.n_head,
      intermediateSize: g.n_inner ?? 4 * g.n_embd,
      maxPositions: g.n_positions,
      normEps: g.layer_norm_epsilon,
      tieEmbeddings: g.tie_word_embeddings,
      prefix: names.includes('transformer.wte.weight') ? 'transformer.' : names.includes('wte.weight') ? '' : 'transformer.',
    };
  } else if (type === 'llama' || type === 'qwen2') {
    const l = parse(llamaSchema);
    if (l.hidden_act !== 'silu') fail(file, `hidden_act ${l.hidden_act} is not supported (silu only)`);
    if (l.mlp_bias) fail(file, 'mlp_bias is not supported');
    if (type === 'llama' && l.attention_bias) fail(file, 'attention_bias (biases on q/k/v/o) is not supported for llama');
    const ropeType = l.rope_parameters?.rope_type ?? l.rope_scaling?.rope_type ?? l.rope_scaling?.type ?? 'default';
    if (ropeType !== 'default') fail(file, `rope type ${ropeType} (rope scaling) is not supported`);
    if (l.use_sliding_window) fail(file, 'sliding-window attention is not supported');
    c = l;
    layout = {
      layout: 'llama',
      hiddenSize: l.hidden_size,
      numLayers: l.num_hidden_layers,
      numHeads: l.num_attention_heads,
      numKvHeads: l.num_key_value_heads ?? l.num_attention_heads,
      headDim: l.head_dim ?? l.hidden_size / l.num_attention_heads,
      intermediateSize: l.intermediate_size,
      maxPositions: l.max_position_embeddings,
      normEps: l.rms_norm_eps,
      ropeTheta: l.rope_parameters?.rope_theta ?? l.rope_theta ?? 10000,
      qkvBias: type === 'qwen2',
      tieEmbeddings: l.tie_word_embeddings,
      prefix: 'model.',
    };
  } else {
    fail(file, `unsupported architecture ${architecture} (model_type ${type}); moalign runs the gpt2, llama and qwen2 layouts`);
  }
  return {
    config: {
      ...layout,
      vocabSize: c.vocab_size,
      initializerRange: c.initializer_range,
      numLabels: classifier ? (c.num_labels ?? Object.keys(c.id2label ?? { 0: '', 1: '' }).length) : 0,
    },
    architecture,
    classifier,
    padTokenId: c.pad_token_id ?? undefined,
    eosTokenIds: eosList(c.eos_token_id),
    bosTokenId: c.bos_token_id ?? undefined,
  };
}
