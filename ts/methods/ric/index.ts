// RiC (Rewards-in-Context): one model, reward-conditioned SFT; the preference becomes target scores in the prompt.
export { RiC, RIC_FILES, onlineDir, type RicTargets } from './ric.js';
export { RIC_BUILT_IN_TASK_DEFAULTS, ricConfig, resolveRicConfig, type RicConfig, type RicConfigInput } from './config.js';
export {
  conditionedPrompt,
  dataBounds,
  formatScore,
  GAUSSIAN_DRAWS,
  gaussianBounds,
  RIC_PROMPT_FORMAT,
  roundScore,
  scoreBlock,
  targetScores,
  type RicPromptFormat,
  type TargetBounds,
  type TargetMapping,
} from './prompt.js';
export { drawGoals, keptRows } from './online.js';
export type { MethodEvent, MethodHooks } from '../events.js';
