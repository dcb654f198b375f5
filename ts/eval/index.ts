// The method-agnostic evaluation: policies per preference, generation on held-out prompts,
// scoring, one point per preference, front metrics and collapse (paretohqd.md §8).
export {
  collapseOptions,
  collapsePercent,
  collapseRate,
  countCollapsed,
  DEFAULT_COLLAPSE,
  isCollapsed,
  repeatedTrigramRatio,
  sentences,
  type CollapseCount,
  type CollapseOptions,
  type CollapseRule,
} from './collapse.js';
export {
  causalLMPolicy,
  loadPolicies,
  policiesFile,
  policyEntry,
  POLICIES_FILE,
  readPoliciesFile,
  type PoliciesFile,
  type PoliciesSpec,
  type Policy,
  type PolicyGenerateOptions,
  type RunPolicies,
} from './policies.js';
export { evaluatePolicies, type CleanMode, type EvalGeneration, type EvalProgress, type EvalResult, type EvaluateOptions, type PreferencePoint } from './evaluate.js';
export {
  buildEvalRecord,
  EVAL_FILES,
  evalGenerationLine,
  evalRecord,
  evalSettings,
  readEvalGenerations,
  readEvalRecord,
  sameSettings,
  writeEvalFiles,
  type EvalRecord,
  type EvalRecordMeta,
  type EvalSettings,
} from './record.js';
export { DEFAULT_EVAL_MAX_NEW_TOKENS, evaluateRun, type EvaluateRunOptions, type EvaluateRunResult } from './run.js';
