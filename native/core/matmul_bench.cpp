#include "matmul_bench.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/randn.h>
#include <c10/core/InferenceMode.h>

#include <chrono>

#include "aten_bridge.h"
#include "compute_thread.h"
#include "errors.h"

namespace moalign {

static MatmulBenchResult run_benchmark(const MatmulBenchOptions& options, const CancelToken& cancel, const BenchProgress& progress) {
  if (options.size < 1) throw InvalidArgument("size must be a positive integer, got " + std::to_string(options.size));
  if (options.iterations < 1) throw InvalidArgument("iterations must be a positive integer, got " + std::to_string(options.iterations));
  if (options.dtype != DType::Float32 && options.dtype != DType::Float64) {
    throw InvalidArgument(std::string("benchmark dtype must be float32 or float64, got ") + dtype_name(options.dtype));
  }
  c10::InferenceMode inference;  // no autograd bookkeeping while timing
  const c10::Device device(options.device);  // libtorch validates the string
  const auto opts = at::TensorOptions().dtype(to_scalar_type(options.dtype)).device(device);
  const int64_t n = options.size;
  at::Tensor a = at::randn({n, n}, opts);  // (n, n)
  at::Tensor b = at::randn({n, n}, opts);  // (n, n)
  at::Tensor c = at::mm(a, b);             // warm-up: allocator, kernels, thread pool
  if (device.is_cuda()) c.cpu();            // a copy to host synchronises the stream

  int done = 0;
  const auto start = std::chrono::steady_clock::now();
  for (; done < options.iterations; ++done) {
    cancel.throw_if_cancelled();
    at::mm_out(c, a, b);
    if (device.is_cuda()) c.sum().item();  // wait for the kernel before reporting progress
    if (progress) progress(done + 1, options.iterations);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double flops = 2.0 * static_cast<double>(n) * n * n * done;
  return {done, seconds, seconds > 0 ? flops / seconds / 1e9 : 0.0, at::get_num_threads(), device.str()};
}

MatmulBenchResult benchmark_matmul(const MatmulBenchOptions& options, const CancelToken& cancel, const BenchProgress& progress) {
  return on_compute_thread([&] { return run_benchmark(options, cancel, progress); });
}

}  // namespace moalign
