// Scorers: rewards for (prompt, response) samples from built-in statistics, reward models and
// user functions, cached on disk.
export type { Scorer, ScoreInput } from './scorer.js';
export { afinnScore, builtinScorers, concisenessScorer, fidelityScorer, normalisedWords, positivityScorer, tokenF1, wordCount } from './builtin.js';
export { functionScorer, type BatchScoreFn, type FunctionScorerOptions, type SampleScoreFn } from './function-scorer.js';
export { rewardModelScorer, type RewardModelScorerOptions } from './reward-model.js';
export { parseObjectiveSpecs, resolveScorers, type ObjectiveSpec, type ResolveScorersOptions } from './registry.js';
export { defaultScoreCacheDir, ScoreCache, scoreKey, ScorerScores } from './cache.js';
export { scoreSamples, type ScoreProgress, type ScoreSamplesOptions } from './score.js';
