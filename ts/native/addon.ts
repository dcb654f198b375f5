// The whole native surface of moalign.node, typed in one place. Everything the C++ layer
// (native/napi) exports is declared here; nothing else in ts/ talks to the binary directly.

/** Typed arrays that cross the boundary, and the dtype each one carries. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array;
export type DType = 'float32' | 'float64' | 'int32' | 'int64';

/** A libtorch tensor owned by native code until dispose() or garbage collection. */
export interface NativeTensor {
  /** Sizes, outermost first. */
  readonly shape: number[];
  readonly dtype: DType;
  /** "cpu", "cuda:0", ... */
  readonly device: string;
  readonly requiresGrad: boolean;
  /** True after dispose(); any other use then throws ERR_MOALIGN_DISPOSED. */
  readonly disposed: boolean;
  /** The values, row-major. Zero-copy for contiguous CPU tensors: the array shares the tensor's
   *  storage (and keeps it alive after dispose()), so in-place native updates show through. */
  toArray(): TensorData;
  matmul(other: NativeTensor): NativeTensor;
  mul(other: NativeTensor): NativeTensor;
  add(other: NativeTensor): NativeTensor;
  sum(): NativeTensor;
  /** Back-propagates from this scalar into every leaf created with requiresGrad. */
  backward(): void;
  /** The accumulated gradient of a leaf, or null before any backward() reached it. */
  grad(): NativeTensor | null;
  /** Frees the native tensor now; safe to call twice. */
  dispose(): void;
  [Symbol.dispose](): void;
}

export interface NativeTensorConstructor {
  /** Copies `data` (shape's product must equal its length) into a new native tensor. */
  new (data: TensorData, shape: readonly number[], requiresGrad?: boolean): NativeTensor;
}

/** The native half of an AbortSignal: cancel() makes running native work stop at its next check. */
export interface NativeCancelToken {
  cancel(): void;
  readonly cancelled: boolean;
}

export interface BuildInfo {
  /** libtorch headers the binary was compiled against. */
  torchVersion: string;
  cxx11Abi: 0 | 1;
  cudaCompiled: boolean;
  compiler: string;
  napiVersion: number;
}

export interface CudaDevice {
  index: number;
  name: string;
  /** Bytes. */
  totalMemory: number;
}

export interface RuntimeInfo {
  numThreads: number;
  numInteropThreads: number;
  cudaAvailable: boolean;
  cudaDevices: CudaDevice[];
  /** libtorch's own summary of its thread pools and math libraries. */
  parallelInfo: string;
}

export interface MatmulBenchOptions {
  /** n of the (n, n) @ (n, n) product. Default 512. */
  size?: number;
  /** Timed products after one warm-up. Default 10. */
  iterations?: number;
  /** Default "float32". */
  dtype?: 'float32' | 'float64';
  /** "cpu" (default), "cuda", "cuda:1". */
  device?: string;
}

export interface MatmulBenchResult {
  iterations: number;
  seconds: number;
  gflops: number;
  /** Intra-op threads the work actually ran with. */
  threads: number;
  device: string;
}

/** Error codes native calls reject or throw with (in `error.code`). */
export type NativeErrorCode =
  | 'ERR_MOALIGN_INVALID_ARGUMENT'
  | 'ERR_MOALIGN_TORCH'
  | 'ERR_MOALIGN_NATIVE'
  | 'ERR_MOALIGN_DISPOSED'
  | 'ABORT_ERR';

export interface NativeAddon {
  Tensor: NativeTensorConstructor;
  CancelToken: new () => NativeCancelToken;
  buildInfo(): BuildInfo;
  runtimeInfo(): RuntimeInfo;
  /** libtorch intra-op threads, for this and every later native call. */
  setNumThreads(n: number): void;
  /** Once per process, before any inter-op work; later calls throw. */
  setNumInteropThreads(n: number): void;
  /** Runs off the JS thread; onProgress(done, total) after each product. */
  benchmarkMatmul(
    options: MatmulBenchOptions,
    cancel?: NativeCancelToken,
    onProgress?: (done: number, total: number) => void,
  ): Promise<MatmulBenchResult>;
}
