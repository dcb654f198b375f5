#include "core/adapters/svd_lora_cpu.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <vector>

#include "core/adapters/low_rank_kernels.h"

namespace moalign::adapters {

namespace {

// Below this many tokens per thread a chunk's work is a few microseconds: fewer chunks.
constexpr int64_t kMinChunkTokens = 64;
// A chunk runs in blocks of this many tokens: backward reads a block of G twice (for q and for
// dU), and 64 rows of G (256 KiB at out 1024) are still in L2 the second time.
constexpr int64_t kBlockTokens = 64;

// The tokens [N c / P, N (c + 1) / P) of chunk c of P: one chunk per intra-op thread.
struct TokenChunks {
  int64_t N, P;
  explicit TokenChunks(int64_t n) : N(n), P(std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / kMinChunkTokens))) {}
  int64_t begin(int64_t c) const { return N * c / P; }
  int64_t end(int64_t c) const { return N * (c + 1) / P; }
  // fn(c, begin, end) for every chunk, one per thread
  template <typename F>
  void run(const F& fn) const {
    at::parallel_for(0, P, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) fn(c, begin(c), end(c));
    });
  }
};

// out (n, r) = a ⊙ E[row]: tokens t0.. of a (n, r), token t's preference row t / tokens_per_row.
void scale_by_row(const float* a, int64_t n, int64_t r, const float* E, int64_t tokens_per_row, int64_t t0, float* out) {
  for (int64_t t = 0; t < n; ++t) {
    const float* e = E + (t0 + t) / tokens_per_row * r;
    for (int64_t j = 0; j < r; ++j) out[t * r + j] = a[t * r + j] * e[j];
  }
}

// parts (P, size): parts[0] += parts[1] + ... in chunk order, which keeps the result fixed for a
// thread count whichever thread ran which chunk.
template <typename T>
void sum_into_first(T* parts, int64_t P, int64_t size) {
  for (int64_t c = 1; c < P; ++c)
    for (int64_t i = 0; i < size; ++i) parts[i] += parts[c * size + i];
}

// The (r, padded(K)) sum of the first chunk as the (K, r) gradient of the factor: one loop, not
// narrow + t + contiguous (each small ATen call costs a few microseconds, per layer and call).
at::Tensor factor_gradient(const float* sum, int64_t K, int64_t r, const at::TensorOptions& options) {
  at::Tensor grad = at::empty({K, r}, options);  // (K, r)
  float* g = grad.mutable_data_ptr<float>();
  const int64_t ldk = low_rank::padded(K);
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j < r; ++j) g[i * r + j] = sum[j * ldk + i];
  return grad;
}

}  // namespace

bool svd_lora_cpu_supported(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& u, const at::Tensor& v) {
  for (const at::Tensor* t : {&x, &weight, &bias, &u, &v})
    if (t->defined() && (!t->is_cpu() || t->scalar_type() != at::kFloat)) return false;
  return u.size(1) >= 1 && u.size(1) <= low_rank::kMaxRank;
}

at::Tensor kernel_factor(const at::Tensor& f) {
  const int64_t K = f.size(0), r = f.size(1), ldk = low_rank::padded(K);
  const at::Tensor fc = f.detach().contiguous();  // (K, r)
  at::Tensor ft = at::empty({r, ldk}, fc.options());  // (r, padded(K))
  const float* src = fc.const_data_ptr<float>();
  float* dst = ft.mutable_data_ptr<float>();
  for (int64_t j = 0; j < r; ++j) {
    for (int64_t i = 0; i < K; ++i) dst[j * ldk + i] = src[i * r + j];
    std::fill(dst + j * ldk + K, dst + (j + 1) * ldk, 0.0f);
  }
  return ft;
}

SvdLoraCpuForward svd_lora_cpu_forward(const at::Tensor& xb, const at::Tensor& w, const at::Tensor& bias, const at::Tensor& xa, const at::Tensor& E,
                                       const at::Tensor& vt, const at::Tensor& ut) {
  const int64_t N = xa.size(0), in = xa.size(1), out = w.size(1), r = vt.size(0), R = E.size(0);
  at::Tensor y = at::empty({N, out}, xa.options());  // (N, out)
  at::Tensor h = at::empty({N, r}, xa.options());    // (N, r)
  const at::Tensor b = bias.defined() ? bias.contiguous() : at::zeros({out}, xa.options());  // (out)
  const float *x_p = xa.const_data_ptr<float>(), *E_p = E.const_data_ptr<float>(), *vt_p = vt.const_data_ptr<float>(), *ut_p = ut.const_data_ptr<float>();
  const float* b_p = b.const_data_ptr<float>();
  float *y_p = y.mutable_data_ptr<float>(), *h_p = h.mutable_data_ptr<float>();
  // The adapter's term and the bias first, then the frozen product added by BLAS (beta 1): y is
  // written once and read once less than with the product first (BLAS writes y, the kernel reads
  // it back to add; with a bias, ATen's addmm also copies the bias in first).
  TokenChunks(N).run([&](int64_t, int64_t begin, int64_t end) {
    float g[kBlockTokens * low_rank::kMaxRank];  // (nb, r)
    for (int64_t t0 = begin; t0 < end; t0 += kBlockTokens) {
      const int64_t nb = std::min(kBlockTokens, end - t0);
      low_rank::project_rows(x_p + t0 * in, nb, in, vt_p, r, h_p + t0 * r);  // h = x̃ V
      scale_by_row(h_p + t0 * r, nb, r, E_p, N / R, t0, g);                 // g = h ⊙ E
      low_rank::set_low_rank(y_p + t0 * out, nb, out, g, r, ut_p, b_p);     // y = b + g U^T
    }
  });
  y.addmm_(xb, w);  // y += x W0^T
  return {y, h};
}

SvdLoraCpuGradients svd_lora_cpu_backward(const at::Tensor& G, const at::Tensor& xa, const at::Tensor& h, const at::Tensor& E, const at::Tensor& vt,
                                          const at::Tensor& ut, at::Tensor& dx, const at::Tensor& keep, bool want_du, bool want_dv, bool want_dE) {
  const int64_t N = G.size(0), out = G.size(1), r = ut.size(0), R = E.size(0);
  const int64_t in = dx.defined() ? dx.size(1) : want_dv ? xa.size(1) : 0;  // only dx and dv need it
  const TokenChunks chunks(N);
  const int64_t P = chunks.P, ldo = low_rank::padded(out), ldi = low_rank::padded(in);
  const at::TensorOptions f32 = G.options();
  // Per-chunk sums, added in chunk order afterwards.
  at::Tensor du_parts = want_du ? at::zeros({P, r, ldo}, f32) : at::Tensor();  // (P, r, padded(out))
  at::Tensor dv_parts = want_dv ? at::zeros({P, r, ldi}, f32) : at::Tensor();  // (P, r, padded(in))
  std::vector<double> dE_parts(want_dE ? P * R * r : 0, 0.0);                  // (P, R, r), in double: a sum over up to N tokens
  const float *G_p = G.const_data_ptr<float>(), *h_p = h.const_data_ptr<float>(), *E_p = E.const_data_ptr<float>();
  const float *vt_p = vt.const_data_ptr<float>(), *ut_p = ut.const_data_ptr<float>();
  const float* x_p = want_dv ? xa.const_data_ptr<float>() : nullptr;
  const float* keep_p = keep.defined() ? keep.const_data_ptr<float>() : nullptr;
  float* dx_p = dx.defined() ? dx.mutable_data_ptr<float>() : nullptr;
  float* du_p = want_du ? du_parts.mutable_data_ptr<float>() : nullptr;
  float* dv_p = want_dv ? dv_parts.mutable_data_ptr<float>() : nullptr;
  const int64_t tokens_per_row = N / R;
  chunks.run([&](int64_t c, int64_t begin, int64_t end) {
    float g[kBlockTokens * low_rank::kMaxRank], q[kBlockTokens * low_rank::kMaxRank], dh[kBlockTokens * low_rank::kMaxRank];  // (nb, r) each
    double* dE_c = want_dE ? dE_parts.data() + c * R * r : nullptr;  // (R, r)
    for (int64_t t0 = begin; t0 < end; t0 += kBlockTokens) {
      const int64_t nb = std::min(kBlockTokens, end - t0);
      const float* G_b = G_p + t0 * out;  // (nb, out)
      low_rank::project_rows(G_b, nb, out, ut_p, r, q);  // q = G U
      if (want_du) {
        scale_by_row(h_p + t0 * r, nb, r, E_p, tokens_per_row, t0, g);  // g = h ⊙ E
        low_rank::accumulate_outer(du_p + c * r * ldo, out, r, g, G_b, nb);  // dU^T += g^T G
      }
      if (want_dE)
        for (int64_t t = 0; t < nb; ++t) {
          double* row = dE_c + (t0 + t) / tokens_per_row * r;
          for (int64_t j = 0; j < r; ++j) row[j] += static_cast<double>(q[t * r + j]) * h_p[(t0 + t) * r + j];
        }
      if (!want_dv && !dx_p) continue;
      scale_by_row(q, nb, r, E_p, tokens_per_row, t0, dh);  // dh = q ⊙ E
      if (want_dv) low_rank::accumulate_outer(dv_p + c * r * ldi, in, r, dh, x_p + t0 * in, nb);  // dV^T += dh^T x̃
      if (dx_p) low_rank::add_low_rank(dx_p + t0 * in, nb, in, dh, r, vt_p, keep_p ? keep_p + t0 * in : nullptr);  // dx += (dh V^T) ⊙ keep
    }
  });
  SvdLoraCpuGradients grads;
  if (want_du) {
    sum_into_first(du_p, P, r * ldo);
    grads.du = factor_gradient(du_p, out, r, f32);
  }
  if (want_dv) {
    sum_into_first(dv_p, P, r * ldi);
    grads.dv = factor_gradient(dv_p, in, r, f32);
  }
  if (want_dE) {
    sum_into_first(dE_parts.data(), P, R * r);
    grads.dE = at::empty({R, r}, f32);
    std::copy(dE_parts.begin(), dE_parts.begin() + R * r, grads.dE.mutable_data_ptr<float>());
  }
  return grads;
}

}  // namespace moalign::adapters
