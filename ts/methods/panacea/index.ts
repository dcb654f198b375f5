// Panacea: one SVD-LoRA model for every preference, λ set at inference.
export { Panacea, PANACEA_ADAPTER, PANACEA_TRAINING, PanaceaRun, type PanaceaPoliciesFile, type PanaceaProgress, type PanaceaTrainOptions } from './panacea.js';
export { PANACEA_BUILT_IN_TASK_DEFAULTS, panaceaConfig, resolvePanaceaConfig, type PanaceaConfig, type PanaceaConfigInput } from './config.js';
export { hasSeveralResponses, preferencePairs, weightedExamples, type PairStats } from './data.js';
export type { MethodEvent, MethodHooks } from '../events.js';
