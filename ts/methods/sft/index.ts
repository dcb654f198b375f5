// The plain SFT baseline: one model trained on the whole pool, the same for every preference.
export { SftBaseline, SFT_MODEL_DIR } from './sft.js';
export { resolveSftBaselineConfig, SFT_BUILT_IN_TASK_DEFAULTS, sftBaselineConfig, type SftBaselineConfig, type SftBaselineConfigInput } from './config.js';
export type { MethodEvent, MethodHooks } from '../events.js';
