// GPT-2's self-attention in training, for short sequences on the CPU: causal softmax attention of
// every head, read straight from the packed q|k|v projection, forward and backward as one autograd
// function with its own float32 kernel.
//
//   y_h = softmax(q_h k_h^T / sqrt(D) + causal mask) v_h,   for each head h of each sequence
//
// ATen's CPU SDPA (the flash kernel) walks each head in query and key blocks with an online
// softmax and recomputes the scores in backward. Here a head's score matrix (T x T floats, at
// most 256 KB) is formed whole, one MKL sgemm per block of 32 query rows over the keys it may see
// only, the causal softmax is taken in place and the probabilities P are kept for backward
// (B H T^2 floats, 2 MB a layer in the bench's model), so backward is four products per block and
// one pass over P. Heads run in parallel on the intra-op threads, each product on one thread.
// One layer of the engine bench's model (B 8, T 128, C 256, 4 heads), forward + backward, fastest
// of 40: 1 thread 4.3 ms against SDPA's 6.9; 2 threads 2.9 against 5.0.
//
// q, k, v are read in place from the (B, T, 3C) projection and y is written as (B, T, C), the
// layout the output projection reads: no transposes or copies in forward, and backward writes
// dq | dk | dv into one (B, T, 3C) gradient (the split's cat). Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

namespace moalign::model {

// qkv (B, T, 3C): the c_attn output, q | k | v along the last dimension, head h of each in columns
// [h D, (h + 1) D), D = C / heads -> y (B, T, C), head h in columns [h D, (h + 1) D); no padding
// (every query sees the keys at and before its own position). Undefined where it does not apply,
// so that the caller takes SDPA: not float32 on the CPU, T > 256, C not a multiple of heads, or
// no BLAS sgemm in the loaded libtorch.
at::Tensor causal_attention(const at::Tensor& qkv, int64_t heads);

}  // namespace moalign::model
