// The built-in task: real text (the Brown corpus), a tiny base model, a scored response pool.
export { readBrownCorpus, detokenize, type BrownDocument } from './brown.js';
export { splitDocuments, sentencePrompts, type CorpusSplits, type PromptOptions, type SplitOptions } from './splits.js';
export { DEFAULT_BASE_MODEL, ensureBaseModel, type BaseModelReport, type BaseModelSettings } from './base-model.js';
export { buildPool, cleanResponse, type PoolOptions, type PoolProgress, type SteeredRun } from './pool.js';
export { positivityLogitBias } from './steering.js';
export { measureConflict, pearson, spearman, type ConflictReport } from './conflict.js';
export { buildTask, DEFAULT_TASK, readTaskManifest, TASK_FILES, TASK_OBJECTIVES, taskObjectives, type TaskManifest, type TaskSettings } from './build.js';
