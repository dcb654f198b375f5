#include "core/model/linear.h"

#include <ATen/core/grad_mode.h>

#include "core/errors.h"

namespace moalign::model {

at::Tensor Linear::forward(const at::Tensor& x) const {
  const adapters::FrozenProjection base{weight, bias, conv1d};
  return adapter && adapter_enabled && !merged ? adapter->forward(x, base) : base.forward(x);
}

void Linear::merge() {
  if (!adapter || merged) return;
  at::NoGradGuard no_grad;
  const at::Tensor delta = adapter->delta_weight();  // first: it may refuse (no single preference)
  weight_before_merge = weight.clone();
  add_delta(delta, 1.0);
  merged = true;
}

void Linear::unmerge() {
  if (!adapter || !merged) return;
  at::NoGradGuard no_grad;
  weight.copy_(weight_before_merge);
  weight_before_merge = at::Tensor();
  merged = false;
}

void Linear::add_delta(const at::Tensor& delta, double scale) {
  if (delta.dim() != 2 || delta.size(0) != out_features() || delta.size(1) != in_features())
    throw InvalidArgument(name + ": a weight delta must be (" + std::to_string(out_features()) + ", " + std::to_string(in_features()) + ")");
  at::NoGradGuard no_grad;
  const at::Tensor d = delta.to(weight.device(), weight.scalar_type());  // (out, in)
  weight.add_(conv1d ? d.t() : d, scale);                               // Conv1D stores (in, out)
}

}  // namespace moalign::model
