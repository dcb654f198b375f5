#include "block_bench.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>

#include "aten_bridge.h"
#include "compute_thread.h"
#include "errors.h"

namespace moalign {

namespace {

// The tensors one call touches: x a leaf on the model's device, the upstream gradient, and the
// trainable parameters whose gradients a call drops again.
struct Bench {
  model::CausalLM& model;
  int64_t layer;
  at::Tensor x;                        // (B, T, C), requires grad
  at::Tensor grad;                     // (B, T, C): ∂L/∂out
  std::vector<at::Tensor> trainable;

  // One forward + backward; returns the block's output (B, T, C).
  at::Tensor call() const {
    at::Tensor out = aten(model.block(layer, wrap(x)));  // (B, T, C)
    torch::autograd::backward({out}, {grad});
    return out;
  }
  void drop_grads() const {
    x.mutable_grad().reset();
    for (const at::Tensor& p : trainable) p.mutable_grad().reset();
  }
  void apply(const BlockBenchVariant& v) const {
    model.set_adapters_enabled(v.adapters);
    if (v.preference.empty()) return;
    const auto rows = static_cast<int64_t>(v.preference.size()), m = static_cast<int64_t>(v.preference[0].size());
    std::vector<double> flat;
    for (const auto& row : v.preference) {
      if (static_cast<int64_t>(row.size()) != m) throw InvalidArgument(v.name + ": preference rows differ in length");
      flat.insert(flat.end(), row.begin(), row.end());
    }
    model.set_preference(wrap(at::tensor(flat, at::TensorOptions().dtype(at::kDouble)).view({rows, m})));  // (R, m), checked there
  }
};

BlockBenchResult run_benchmark(model::CausalLM& model, const Tensor& x_in, const Tensor& grad_in, const BlockBenchOptions& o,
                               const CancelToken& cancel, const BenchProgress& progress) {
  if (o.variants.empty()) throw InvalidArgument("benchmarkBlock: no variants to time");
  if (o.repeats < 1 || o.iterations < 1 || o.warmup < 0) throw InvalidArgument("benchmarkBlock: repeats and iterations must be >= 1, warmup >= 0");
  at::AutoGradMode grad_on(true);
  // The compute dtype and device are those of the base weights (adapters may be float32 over bf16).
  const at::Tensor base = aten(model.parameter(model.parameter_names(false).front()));
  const auto on_device = [&](const Tensor& t) { return aten(t).detach().to(base.device(), base.scalar_type()); };
  if (!aten(grad_in).sizes().equals(aten(x_in).sizes())) throw InvalidArgument("benchmarkBlock: grad must have x's shape (B, T, C)");
  Bench bench{model, o.layer, on_device(x_in).requires_grad_(true), on_device(grad_in), {}};
  for (const std::string& name : model.parameter_names(true)) bench.trainable.push_back(aten(model.parameter(name)));
  const bool cuda = base.device().is_cuda();

  BlockBenchResult result{{}, at::get_num_threads(), base.device().str()};
  for (const BlockBenchVariant& v : o.variants) {
    bench.apply(v);
    for (int i = 0; i < o.warmup; ++i) {
      bench.call();
      bench.drop_grads();
    }
    result.variants.push_back({v.name, {}, 0, 0});
  }
  // Round-robin: every repeat times each variant once, `iterations` calls in a row.
  for (int r = 0; r < o.repeats; ++r) {
    for (std::size_t i = 0; i < o.variants.size(); ++i) {
      cancel.throw_if_cancelled();
      bench.apply(o.variants[i]);
      // On CUDA, a value copied to the host waits for every kernel queued before it (one stream).
      if (cuda) bench.x.sum().item();  // the stream idle before the clock starts
      const auto start = std::chrono::steady_clock::now();
      for (int k = 0; k < o.iterations; ++k) {
        bench.call();
        bench.drop_grads();
      }
      if (cuda) bench.x.sum().item();  // the calls' kernels done before the clock stops
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      result.variants[i].ms.push_back(ms / o.iterations);
    }
    if (progress) progress(r + 1, o.repeats);
  }
  for (std::size_t i = 0; i < o.variants.size(); ++i) {
    bench.apply(o.variants[i]);
    result.variants[i].output_sum = bench.call().sum().item<double>();
    result.variants[i].input_grad_norm = bench.x.grad().norm().item<double>();
    bench.drop_grads();
  }
  model.set_adapters_enabled(true);
  return result;
}

}  // namespace

BlockBenchResult benchmark_block(model::CausalLM& model, const Tensor& x, const Tensor& grad, const BlockBenchOptions& options,
                                 const CancelToken& cancel, const BenchProgress& progress) {
  return on_compute_thread([&] { return run_benchmark(model, x, grad, options, cancel, progress); });
}

}  // namespace moalign
