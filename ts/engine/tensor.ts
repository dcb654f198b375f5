// Tensors in JS: typed arrays plus shapes in, native libtorch tensors behind a thin class.
import type { DType, NativeTensor, TensorData } from '../native/addon.js';
import { native } from '../native/loader.js';

export type { DType, NativeTensor as Tensor, TensorData };

export interface TensorOptions {
  /** Record operations for backward(). Floating-point dtypes only. Default false. */
  requiresGrad?: boolean;
}

/**
 * A native tensor holding a copy of `data` (its dtype follows the array: Float32Array ->
 * float32, Float64Array -> float64, Int32Array -> int32, BigInt64Array -> int64).
 * Free it with `dispose()` or a `using` declaration; the garbage collector frees it otherwise.
 */
export function tensor(data: TensorData, shape: readonly number[], options: TensorOptions = {}): NativeTensor {
  return new (native().Tensor)(data, shape, options.requiresGrad ?? false);
}
