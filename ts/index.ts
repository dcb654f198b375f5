// moalign's public API.
export { tensor, type Tensor, type TensorData, type DType, type TensorOptions } from './engine/tensor.js';
export { benchmarkMatmul, runtimeInfo, setNumThreads, type LongRunOptions } from './engine/runtime.js';
export { withAbortSignal } from './engine/abort.js';
export { loadAddon, AddonLoadError, type LoadedAddon } from './native/loader.js';
export { resolveLibtorch, LibtorchNotFoundError, type Libtorch, type LibtorchSource } from './native/libtorch.js';
export type * from './native/addon.js';
export { doctor, formatDoctor, type DoctorReport } from './system/doctor.js';
export * from './moo/index.js';
export * from './engine/index.js';
export * from './data/index.js';
export * from './data/scorers/index.js';
export * from './task/index.js';
export * from './eval/index.js';
export { compareRuns, compareRecords, comparisonTable, type Comparison } from './report/compare.js';
export { writeComparisonReport } from './report/html.js';
