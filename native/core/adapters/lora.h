// LoRA (Hu et al. 2021), in peft's layout: W' = W + (alpha / r) B A, with A (r, in) and
// B (out, r); forward adds (alpha / r) (x A^T) B^T to the frozen base output. Core-internal.
#pragma once
#include "core/adapters/adapter.h"

namespace moalign::adapters {

class Lora final : public Adapter {
 public:
  // A is (r, in), B is (out, r). Both become trainable leaves.
  Lora(at::Tensor a, at::Tensor b, double alpha);

  at::Tensor forward(const at::Tensor& x, const FrozenProjection& base) const override;
  at::Tensor delta_weight() const override;
  std::vector<std::pair<std::string, at::Tensor>> parameters() const override;

  int64_t rank() const { return a_.size(0); }
  double scaling() const { return scaling_; }

 private:
  at::Tensor a_, b_;
  double scaling_;
  // SVD-LoRA's diagonal (1, ..., 1), scale and preference (1, 0): constants, never trained.
  at::Tensor unit_diagonal_, zero_scale_, no_preference_;
};

}  // namespace moalign::adapters
