// A transformer-block probe: forward + backward of one block of a loaded model on a fixed input,
// under several adapter settings (the frozen base block, SVD-LoRA with one λ, with one λ per row).
// bench/panacea.ts times Panacea's layer with it (issue 9). The settings take turns within every
// repeat, so a drift of the machine's speed falls on all of them alike and their ratios stay fair.
#pragma once
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/matmul_bench.h"  // BenchProgress
#include "core/model/causal_lm.h"

namespace moalign {

// One setting of the model's adapters, applied before each of its turns.
struct BlockBenchVariant {
  std::string name;
  bool adapters = false;  // false: the frozen base block (adapters switched off)
  // SVD-LoRA λ rows (m values each): one row for the whole batch, or one per batch row. Empty:
  // leave the model's preference as it is.
  std::vector<std::vector<double>> preference;
};

struct BlockBenchOptions {
  int64_t layer = 0;
  int warmup = 2;      // untimed calls per variant before the first repeat
  int repeats = 7;     // timed samples per variant
  int iterations = 1;  // calls per sample; a sample is their mean
  std::vector<BlockBenchVariant> variants;
};

struct BlockBenchVariantResult {
  std::string name;
  std::vector<double> ms;  // milliseconds per call, one per repeat
  // Of one more, untimed call: the sum of the block's output and ‖∂/∂x‖. Another implementation
  // of the same block on the same x and grad must give the same two numbers.
  double output_sum = 0;
  double input_grad_norm = 0;
};

struct BlockBenchResult {
  std::vector<BlockBenchVariantResult> variants;
  int threads;  // intra-op threads the work ran with
  std::string device;
};

// One call: out = block(x) with x a leaf that requires grad (so that the frozen block has a
// backward too: ∂/∂x), out.backward(grad), then every gradient (x's, the trainable parameters')
// dropped, as Python's `p.grad = None`, so no call accumulates into the last one's. `grad` is a
// fixed dense upstream gradient, as a training step's are: out.sum()'s would be one value
// broadcast with stride 0, which matrix products must first copy out. x and grad (B, T, C) are
// cast to the model's compute dtype and moved to its device once, untimed. On CUDA a repeat ends
// with a synchronisation. Leaves the adapters enabled and the last variant's λ set.
// progress(done, total) after each repeat, on the compute thread.
BlockBenchResult benchmark_block(model::CausalLM& model, const Tensor& x, const Tensor& grad, const BlockBenchOptions& options,
                                 const CancelToken& cancel, const BenchProgress& progress = nullptr);

}  // namespace moalign
