// The hook every low-rank adapter plugs into: a Linear asks its adapter, if any, to add its
// term to the base output. LoRA (lora.h) and Panacea's SVD-LoRA implement it. Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace moalign::adapters {

class Adapter {
 public:
  virtual ~Adapter() = default;
  // base: x W^T + b, (..., out); x: (..., in). Returns base plus the adapter's term.
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& base) const = 0;
  // The adapter's delta to W (out, in), for merging.
  virtual at::Tensor delta_weight() const = 0;
  // Trainable tensors, named relative to the wrapped module (e.g. "lora_A.weight").
  virtual std::vector<std::pair<std::string, at::Tensor>> parameters() const = 0;
};

}  // namespace moalign::adapters
