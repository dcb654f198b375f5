// The transformer engine: models, tokenizers, training.
export { CausalLM, RewardModel, readAdapterConfig, tokenBatch, type Generation, type GenerateOptions, type LoraConfig, type ModelLoadOptions, type SequenceScore, type TextPair, type TokenBatch } from './causal-lm.js';
export { readModelInfo, checkpointTensorNames, type ModelInfo } from './config.js';
export { interpolateAdapterFactors, interpolateModels } from './soup.js';
export { Trainer, type TrainOptions, type TrainProgress, type TrainReport } from './trainer.js';
export * from './tokenizer.js';
