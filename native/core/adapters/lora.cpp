#include "core/adapters/lora.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>

#include "core/adapters/svd_lora.h"

namespace moalign::adapters {

Lora::Lora(at::Tensor a, at::Tensor b, double alpha)
    : a_(std::move(a)), b_(std::move(b)), scaling_(alpha / static_cast<double>(a_.size(0))) {
  a_.requires_grad_(true);
  b_.requires_grad_(true);
  unit_diagonal_ = at::ones({rank()}, a_.options());
  zero_scale_ = at::zeros({1}, a_.options());
  no_preference_ = at::empty({1, 0}, a_.options());
}

at::Tensor Lora::forward(const at::Tensor& x, const FrozenProjection& base) const {
  // LoRA is SVD-LoRA's fused layer with U = B, V = A^T, the diagonal fixed at 1 and no preference
  // slots: y = x W0^T + b + scaling (x A^T) B^T. The fused layer runs the skinny products in its
  // own kernels for float32 on the CPU (rank up to 16), elsewhere in the orientation MKL is fast
  // at (see svd_lora.cpp), and adds the adapter's output and input gradient into the base's.
  return svd_lora_apply(x, base, b_, a_.t(), unit_diagonal_, zero_scale_, no_preference_, scaling_);
}

at::Tensor Lora::delta_weight() const { return at::matmul(b_, a_) * scaling_; }  // (out, in)

std::vector<std::pair<std::string, at::Tensor>> Lora::parameters() const {
  return {{"lora_A.weight", a_}, {"lora_B.weight", b_}};
}

}  // namespace moalign::adapters
