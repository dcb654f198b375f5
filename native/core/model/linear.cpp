#include "core/model/linear.h"

#include <ATen/ops/addmm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"

namespace moalign::model {

at::Tensor Linear::forward(const at::Tensor& x) const {
  at::Tensor y;
  if (conv1d) {
    // (N, in) @ (in, out) + b, flattened like HF's Conv1D
    const auto out_shape = [&] {
      auto s = x.sizes().vec();
      s.back() = weight.size(1);
      return s;
    }();
    at::Tensor flat = x.reshape({-1, x.size(-1)});
    y = (bias.defined() ? at::addmm(bias, flat, weight) : at::matmul(flat, weight)).view(out_shape);
  } else {
    y = at::linear(x, weight, bias);
  }
  if (adapter && adapter_enabled && !merged) y = adapter->forward(x, y);
  return y;
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
