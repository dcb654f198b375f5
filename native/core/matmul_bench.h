// A square-matmul throughput probe: the doctor's speed check and the foundation benchmark.
// Long-running by design, so it is how cancellation and worker threads are exercised.
#pragma once
#include <functional>
#include <string>

#include "cancel.h"
#include "host_array.h"

namespace moalign {

struct MatmulBenchOptions {
  int size = 512;          // n of the (n, n) @ (n, n) product
  int iterations = 10;     // timed products, after one warm-up
  DType dtype = DType::Float32;
  std::string device = "cpu";  // "cpu", "cuda", "cuda:1"
};

struct MatmulBenchResult {
  int iterations_done;
  double seconds;      // wall time of the timed products
  double gflops;       // 2 n^3 per product
  int threads;         // intra-op threads the work ran with
  std::string device;
};

// progress(done, total) runs on the worker thread after each product.
using BenchProgress = std::function<void(int done, int total)>;

MatmulBenchResult benchmark_matmul(const MatmulBenchOptions& options, const CancelToken& cancel,
                                   const BenchProgress& progress = nullptr);

}  // namespace moalign
