// Float32 CPU kernels for the skinny products of a low-rank adapter (SVD-LoRA, and LoRA through
// the same layer): an activation of n tokens by K features times a factor of rank r <= kMaxRank.
// BLAS runs these shapes poorly: it copies (packs) the big operand into its own layout before
// every product, which at r = 10 costs as much as the arithmetic. These read the activation once,
// in place, 16 feature columns at a time, and keep the rank-r side in registers.
//
// Layouts: activations (n, K) row-major; rank-r token quantities (n, r) row-major; the factor and
// the gradient sums transposed, (r, ldk) with ldk = padded(K): each of the r rows holds K features
// and then zeros up to a multiple of 16, so that a row's last 16-column strip is whole.
// Single-threaded: callers split tokens across threads (adapters/svd_lora_cpu.cpp).
#pragma once
#include <cstdint>

namespace moalign::adapters::low_rank {

constexpr int64_t kMaxRank = 16;  // higher ranks stay with libtorch's products

inline int64_t padded(int64_t k) { return (k + 15) / 16 * 16; }

// h (n, r) = a (n, K) bᵀ:  h[t, j] = Σ_i a[t, i] b[j, i],  b (r, padded(K)).
void project_rows(const float* a, int64_t n, int64_t K, const float* b, int64_t r, float* h);

// y (n, K) += (c b) ⊙ mask:  y[t, i] += mask[t, i] Σ_j c[t, j] b[j, i],  c (n, r), b (r, padded(K)),
// mask (n, K) or null (all ones).
void add_low_rank(float* y, int64_t n, int64_t K, const float* c, int64_t r, const float* b, const float* mask);

// y (n, K) = row + c b:  y[t, i] = row[i] + Σ_j c[t, j] b[j, i],  row (K); y is only written.
void set_low_rank(float* y, int64_t n, int64_t K, const float* c, int64_t r, const float* b, const float* row);

// d (r, padded(K)) += cᵀ a:  d[j, i] += Σ_t c[t, j] a[t, i],  c (n, r), a (n, K); d's padding
// columns stay as they were.
void accumulate_outer(float* d, int64_t K, int64_t r, const float* c, const float* a, int64_t n);

}  // namespace moalign::adapters::low_rank
