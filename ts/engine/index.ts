// The transformer engine: models, tokenizers, training.
export {
  CausalLM,
  RewardModel,
  defaultSvdLoraTargets,
  preferenceRows,
  readAdapterConfig,
  tokenBatch,
  type Preference,
  type SvdLoraConfig,
  type SvdLoraInfo,
  type Generation, type GenerateOptions, type LoraConfig, type ModelLoadOptions, type SequenceScore, type TextPair, type TokenBatch } from './causal-lm.js';
export { readModelInfo, checkpointTensorNames, type ModelInfo } from './config.js';
export { interpolateAdapterFactors, interpolateModels } from './soup.js';
export {
  type PreferenceItem,
  type PreferenceOptions,
  type PreferenceProgress,
  type PreferenceReport,
  Trainer,
  type TrainHooks,
  type TrainOptions,
  type TrainProgress,
  type TrainReport,
} from './trainer.js';
export * from './tokenizer.js';
