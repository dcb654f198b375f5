// CPU kernels for the decode step (one new token per row against a KV cache), where ATen's
// general kernels lose most of their time to shapes they were not made for. Both are AVX-512 and
// return an undefined tensor where they do not apply, so that callers fall back to ATen (other
// devices and dtypes, other CPUs, gradients). Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

namespace moalign::model {

// The projections: y = x W + b for a few rows x against a weight stored (in, out), GPT-2's Conv1D
// layout. MKL's sgemm packs all of W before multiplying it by so few rows, and on AMD CPUs takes
// its generic code path: a decode step of the 4-layer d256 bench model spent a third of its time
// in that packing. This kernel streams W once, unpacked.
// x (M, K), w (K, N), bias (N) or undefined -> x w + bias (M, N), float32. Undefined unless a
// float32 CPU product of at most 16 rows with N a multiple of 16 and no gradient wanted.
at::Tensor decode_matmul(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias);

// The attention: SDPA's CPU kernel runs a single query as B H pairs of matrix-vector products
// through MKL (sgemv, again its generic path on AMD): a fifth of the same decode step. Here the
// scores, the softmax (ATen's) and the weighted sum of values are three passes over the cache.
// q (B, H, 1, D); k, v (B, Hkv, S, D), the cache's filled slots, the query at slot S - 1;
// key_mask (B, >= S) bool (true: a real token) or undefined (no padding). The query sees every
// real key and always itself -> (B, H, 1, D), what SDPA gives with AttentionMask::dense.
// Undefined unless float32 on the CPU, D a multiple of 16 and no gradient wanted.
at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask);

}  // namespace moalign::model
