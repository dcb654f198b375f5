// The hook every low-rank adapter plugs into: a Linear hands its adapter, if any, the input and
// its frozen projection, and the adapter returns the projection plus its term. LoRA (lora.h) and
// Panacea's SVD-LoRA implement it. Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace moalign::adapters {

// The frozen projection an adapter wraps, y = x W^T + b: W stored (out, in), or as W^T (in, out)
// when conv1d (GPT-2's Conv1D); bias (out) or undefined. Refers to the calling Linear's tensors.
struct FrozenProjection {
  const at::Tensor& weight;
  const at::Tensor& bias;
  bool conv1d;
  at::Tensor forward(const at::Tensor& x) const;  // (..., in) -> (..., out)
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  // x (..., in) -> base(x) plus the adapter's term, (..., out). The adapter runs the base itself,
  // so that it may fuse the two: SVD-LoRA adds its term into the base output in place, and its
  // input gradient into the base's, with no second (N, out) or (N, in) tensor.
  virtual at::Tensor forward(const at::Tensor& x, const FrozenProjection& base) const = 0;
  // The adapter's delta to W (out, in), for merging.
  virtual at::Tensor delta_weight() const = 0;
  // Trainable tensors, named relative to the wrapped module (e.g. "lora_A.weight").
  virtual std::vector<std::pair<std::string, at::Tensor>> parameters() const = 0;
};

}  // namespace moalign::adapters
