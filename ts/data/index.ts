// The dataset layer: records, JSONL and Parquet files, HH splitting, reading and writing
// datasets, and reward normalisation.
export * from './records.js';
export {
  readJsonlRecords,
  writeJsonlAtomic,
  stringifyJson,
  type RawRecord,
  type WriteOptions,
} from './jsonl.js';
export { openParquet, writeParquetAtomic, rewardColumn, type ParquetTable, type ParquetColumn, type ParquetWriteOptions } from './parquet.js';
export { HH_ASSISTANT_MARKER, HHDialogueError, splitHHDialogue, hhPairSamples } from './hh.js';
export {
  dataFormatOf,
  readTextSamples,
  writeTextSamples,
  readScoredDataset,
  writeScoredDataset,
  readPrompts,
  writePrompts,
  type DataFormat,
  type ReadOptions,
  type ScoredReadOptions,
  type ReadReport,
  type SkippedRecord,
  type DataWriteOptions,
} from './dataset.js';
export { fitNormaliser, Normaliser, normaliserSpec, normaliserStats, quantileSorted, type NormaliserSpec, type NormaliserStats } from './normalise.js';
