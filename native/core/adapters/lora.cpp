#include "core/adapters/lora.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>

namespace moalign::adapters {

Lora::Lora(at::Tensor a, at::Tensor b, double alpha)
    : a_(std::move(a)), b_(std::move(b)), scaling_(alpha / static_cast<double>(a_.size(0))) {
  a_.requires_grad_(true);
  b_.requires_grad_(true);
}

at::Tensor Lora::forward(const at::Tensor& x, const FrozenProjection& base) const {
  // (..., in) -> (..., r) -> (..., out)
  return base.forward(x) + at::linear(at::linear(x, a_), b_) * scaling_;
}

at::Tensor Lora::delta_weight() const { return at::matmul(b_, a_) * scaling_; }  // (out, in)

std::vector<std::pair<std::string, at::Tensor>> Lora::parameters() const {
  return {{"lora_A.weight", a_}, {"lora_B.weight", b_}};
}

}  // namespace moalign::adapters
