// Rewarded Soups: one expert per objective from the same base, one weight interpolation per preference.
export { topByObjective } from '../../data/records.js';
export { RewardedSoups, hasResponsePairs, pairsByObjective, type ExpertRecord, type ExpertTrainer, type SoupsEvent, type SoupsHooks, type SoupsPoliciesFile } from './soups.js';
export { resolveSoupsConfig, SOUPS_BUILT_IN_TASK_DEFAULTS, soupsConfig, type SoupsConfig, type SoupsConfigInput } from './config.js';
export type { MethodEvent, MethodHooks } from '../events.js';
