#include "core/adapters/adapter.h"

#include <ATen/ops/addmm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>

#include "core/model/decode_kernels.h"

namespace moalign::adapters {

at::Tensor FrozenProjection::forward(const at::Tensor& x) const {
  if (!conv1d) return at::linear(x, weight, bias);
  // (N, in) @ (in, out) + b, flattened like HF's Conv1D
  auto out_shape = x.sizes().vec();
  out_shape.back() = weight.size(1);
  const at::Tensor flat = x.reshape({-1, x.size(-1)});
  if (const at::Tensor y = model::decode_matmul(flat, weight, bias); y.defined()) return y.view(out_shape);
  return (bias.defined() ? at::addmm(bias, flat, weight) : at::matmul(flat, weight)).view(out_shape);
}

}  // namespace moalign::adapters
