// GPT-2's activation, GELU with the tanh approximation (PyTorch's gelu(approximate='tanh'),
// transformers' gelu_new), as one autograd function with its own float32 CPU kernels.
//
//   gelu(x) = 0.5 x (1 + tanh(u)),   u = sqrt(2/pi) (x + 0.044715 x^3)
//
// ATen's kernel spends most of its time in a vectorised tanh accurate to 1 ulp; the same function
// written as x sigmoid(2u) needs one exp instead, and that form has no cancellation for negative x
// (1 + tanh(u) loses digits there). Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

namespace moalign::model {

// x (...) -> (...). Float32 CPU tensors run the fused kernels (backward recomputes from the saved
// input); any other dtype or device goes to at::gelu(x, "tanh").
at::Tensor gelu_tanh(const at::Tensor& x);

}  // namespace moalign::model
