// A Hugging Face *ForSequenceClassification folder as a scorer: the head's first output at the
// last token of prompt + response (RewardModel.score).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelLoadOptions, RewardModel } from '../../engine/index.js';
import type { Scorer } from './scorer.js';

export interface RewardModelScorerOptions {
  /** Pairs per forward pass. Default 16. */
  batchSize?: number;
  /** 'cpu' (default) or 'cuda', 'cuda:1', ... */
  device?: string;
  /** Compute dtype. Default 'float32'. */
  dtype?: ModelLoadOptions['dtype'];
}

/**
 * Scores with the reward model in `dir`, loaded on the first batch that needs it (so a run served
 * wholly from the cache never loads it). The id is `rm:<absolute dir>:<stamp>:<dtype>`, the stamp
 * being size and mtime of the files that decide the scores (config.json, tokenizer.json and the
 * weights, shards included), so a retrained model or another dtype is not served old scores.
 */
export function rewardModelScorer(name: string, dir: string, options: RewardModelScorerOptions = {}): Scorer {
  const absolute = resolve(dir);
  const dtype = options.dtype ?? 'float32';
  // Loaded once, on first use; `loaded` lets dispose free it synchronously.
  let loading: Promise<RewardModel> | undefined;
  let loaded: RewardModel | undefined;
  let disposed = false;
  const checkAlive = () => {
    if (disposed) throw new Error(`reward model scorer ${name} (${absolute}) was disposed`);
  };
  const model = async () => {
    checkAlive();
    loading ??= import('../../engine/index.js').then(async ({ RewardModel }) => {
      const rm = await RewardModel.load(absolute, { device: options.device, dtype });
      if (disposed) rm.dispose();
      else loaded = rm;
      return rm;
    });
    return loading;
  };
  return {
    name,
    id: `rm:${absolute}:${modelStamp(absolute)}:${dtype}`,
    async score(batch, signal) {
      signal?.throwIfAborted();
      const rm = await model();
      checkAlive();
      signal?.throwIfAborted();
      return rm.score(batch, { batchSize: options.batchSize ?? 16 });
    },
    dispose() {
      disposed = true;
      loaded?.dispose();
      loaded = undefined;
    },
  };
}

/** "size-mtimeMs" of each file deciding a model's scores, joined with '+'. */
function modelStamp(dir: string): string {
  const files = ['config.json', 'tokenizer.json', ...weightFiles(dir)];
  return files
    .map((f) => {
      const path = join(dir, f);
      try {
        const s = statSync(path);
        return `${s.size}-${Math.round(s.mtimeMs)}`;
      } catch (err) {
        throw new Error(`${path}: cannot read (${(err as Error).message}); a reward model folder needs config.json, tokenizer.json and model.safetensors (or its shards)`);
      }
    })
    .join('+');
}

/** model.safetensors, else the shard index and every shard it names. */
function weightFiles(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(join(dir, 'model.safetensors')) || !existsSync(index)) return ['model.safetensors'];
  let weightMap: Record<string, string> | undefined;
  try {
    weightMap = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
  } catch (err) {
    throw new Error(`${index}: not valid JSON (${(err as Error).message})`);
  }
  return ['model.safetensors.index.json', ...[...new Set(Object.values(weightMap ?? {}))].sort()];
}
