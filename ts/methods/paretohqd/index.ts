// ParetoHqD: two-stage SFT on Pareto high-quality data, one model per preference.
export { ParetoHqD, representatives, isDegenerate, selectStage2, stage2SelectionBounds, type ParetoHqdEvent, type RunHooks } from './paretohqd.js';
export { BUILT_IN_TASK_DEFAULTS, paretoHqdConfig, resolveParetoHqdConfig, type ParetoHqdConfig, type ParetoHqdConfigInput } from './config.js';
export type { MethodEvent, MethodHooks } from '../events.js';
