// The LM head and the causal-LM loss in one step, chunked over rows: mean over valid rows of
// -log softmax(h W^T)[target]. No (rows, vocab) logits tensor is kept for backward: each chunk's
// gradient (softmax - onehot) is used at once for dh = g W and dW += g^T h, and backward hands
// them on (scaled, when the loss was). Same three products as the unfused head, a fraction of the
// memory. Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

namespace moalign::train {

// h (N, C), weight (V, C), target (N) int64 with ignore_index rows skipped -> scalar loss.
// Gradients flow to h, and to weight when it requires grad.
at::Tensor linear_cross_entropy(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& target, int64_t ignore_index = -100);

}  // namespace moalign::train
