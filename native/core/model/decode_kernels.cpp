#include "core/model/decode_kernels.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/softmax.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu_features.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MOALIGN_DECODE_KERNELS 1
#endif

namespace moalign::model {

#ifdef MOALIGN_DECODE_KERNELS
namespace {

constexpr int64_t kMaxRows = 16;  // decode batches; more rows (prefill, training) stay with MKL
constexpr int64_t kLanes = 16;    // floats per AVX-512 register

// y[:R, :16 NV] = x[:R, :] w[:, :16 NV] (+ b): R rows by NV registers of columns held in R NV
// accumulators (8 x 3 = 24 of the 32 registers) while W's rows stream past once, k by k.
template <int R, int NV>
__attribute__((target("avx512f"))) inline void tile(const float* x, int64_t K, const float* w, int64_t N, const float* b, float* y) {
  __m512 acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m512 wk[NV];
    for (int v = 0; v < NV; ++v) wk[v] = _mm512_loadu_ps(w + k * N + kLanes * v);
    for (int r = 0; r < R; ++r) {
      const __m512 a = _mm512_set1_ps(x[r * K + k]);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, wk[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      const __m512 out = b ? _mm512_add_ps(acc[r][v], _mm512_loadu_ps(b + kLanes * v)) : acc[r][v];
      _mm512_storeu_ps(y + r * N + kLanes * v, out);
    }
}

// R rows, columns [j0, j1) (multiples of 16): tiles of 48 columns, then of 16.
template <int R>
__attribute__((target("avx512f"))) void rows(const float* x, int64_t K, const float* w, int64_t N, const float* b, float* y, int64_t j0, int64_t j1) {
  int64_t j = j0;
  for (; j + 3 * kLanes <= j1; j += 3 * kLanes) tile<R, 3>(x, K, w + j, N, b ? b + j : nullptr, y + j);
  for (; j < j1; j += kLanes) tile<R, 1>(x, K, w + j, N, b ? b + j : nullptr, y + j);
}

using RowsFn = void (*)(const float*, int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t);
constexpr RowsFn kRows[] = {nullptr, rows<1>, rows<2>, rows<3>, rows<4>, rows<5>, rows<6>, rows<7>, rows<8>};

}  // namespace

at::Tensor decode_matmul(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  if (!cpu_has_avx512() || !x.is_cpu() || x.dim() != 2 || w.dim() != 2 || x.scalar_type() != at::kFloat || w.scalar_type() != at::kFloat) return {};
  const int64_t M = x.size(0), K = x.size(1), N = w.size(1);
  if (M < 1 || M > kMaxRows || N % kLanes != 0 || w.size(0) != K || !w.is_cpu() || !w.is_contiguous()) return {};
  const bool has_bias = bias.defined();
  if (has_bias && (bias.scalar_type() != at::kFloat || !bias.is_cpu() || !bias.is_contiguous() || bias.numel() != N)) return {};
  if (at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() || (has_bias && bias.requires_grad()))) return {};
  const at::Tensor xc = x.contiguous();
  at::Tensor y = at::empty({M, N}, x.options());
  const float *xp = xc.data_ptr<float>(), *wp = w.data_ptr<float>(), *bp = has_bias ? bias.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  // Threads split the columns, in chunks of at least ~256K multiply-adds: below that a chunk takes
  // a few microseconds, no more than waking a thread costs.
  const int64_t units = N / kLanes, grain = std::max<int64_t>(1, (int64_t{1} << 18) / (M * K * kLanes));
  at::parallel_for(0, units, grain, [&](int64_t u0, int64_t u1) {
    for (int64_t m = 0; m < M; m += 8) {
      const int64_t R = std::min<int64_t>(8, M - m);
      kRows[R](xp + m * K, K, wp, N, bp, yp + m * N, u0 * kLanes, u1 * kLanes);
    }
  });
  return y;
}

namespace {

// Σ_d a[d] b[d] over D (a multiple of 16) floats. (GCC 12 warns about the intrinsic's own
// deliberately undefined upper half in _mm512_reduce_add_ps.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) inline float dot(const float* a, const float* b, int64_t D) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t d = 0; d < D; d += kLanes) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + d), _mm512_loadu_ps(b + d), acc);
  return _mm512_reduce_add_ps(acc);
}
#pragma GCC diagnostic pop

// scores[s] = q . k[s] * scale for the keys the query sees, -inf for the others.
__attribute__((target("avx512f"))) void scores_of(const float* q, const float* k, int64_t k_stride, const bool* seen, int64_t S, int64_t D,
                                                   float scale, float* scores) {
  for (int64_t s = 0; s < S; ++s)
    scores[s] = !seen || seen[s] || s == S - 1 ? dot(q, k + s * k_stride, D) * scale : -std::numeric_limits<float>::infinity();
}

// y = Σ_s p[s] v[s] over D (a multiple of 16) floats, 16 at a time.
__attribute__((target("avx512f"))) void weighted_sum(const float* p, const float* v, int64_t v_stride, int64_t S, int64_t D, float* y) {
  for (int64_t d = 0; d < D; d += kLanes) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t s = 0; s < S; ++s)
      if (p[s] != 0) acc = _mm512_fmadd_ps(_mm512_set1_ps(p[s]), _mm512_loadu_ps(v + s * v_stride + d), acc);
    _mm512_storeu_ps(y + d, acc);
  }
}

}  // namespace

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask) {
  if (!cpu_has_avx512() || !q.is_cpu() || !k.is_cpu() || !v.is_cpu() || q.dim() != 4 || k.dim() != 4 || v.dim() != 4) return {};
  if (q.scalar_type() != at::kFloat || k.scalar_type() != at::kFloat || v.scalar_type() != at::kFloat) return {};
  const int64_t B = q.size(0), H = q.size(1), D = q.size(3), Hkv = k.size(1), S = k.size(2);
  if (q.size(2) != 1 || D % kLanes != 0 || H % Hkv != 0 || k.sizes() != v.sizes() || k.size(0) != B || k.size(3) != D) return {};
  if (k.stride(3) != 1 || v.stride(3) != 1) return {};
  if (at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) return {};
  at::Tensor seen;  // (B, S) bool, contiguous
  if (key_mask.defined()) {
    if (!key_mask.is_cpu() || key_mask.scalar_type() != at::kBool || key_mask.dim() != 2 || key_mask.size(0) != B || key_mask.size(1) < S) return {};
    seen = key_mask.narrow(1, 0, S).contiguous();
  }
  const at::Tensor qc = q.contiguous();
  const float* qp = qc.data_ptr<float>();
  const float *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
  const bool* mp = seen.defined() ? seen.data_ptr<bool>() : nullptr;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  const int64_t groups = H / Hkv, grain = std::max<int64_t>(1, (int64_t{1} << 17) / (S * D));
  // (B, H, S): each (row, head) pair's scores over its row's slots
  at::Tensor scores = at::empty({B, H, S}, q.options());
  float* sp = scores.data_ptr<float>();
  at::parallel_for(0, B * H, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / H, h = i % H;
      scores_of(qp + i * D, kp + b * k.stride(0) + (h / groups) * k.stride(1), k.stride(2), mp ? mp + b * S : nullptr, S, D, scale, sp + i * S);
    }
  });
  const at::Tensor probs = at::softmax(scores, -1);
  const float* pp = probs.data_ptr<float>();
  at::Tensor y = at::empty({B, H, 1, D}, q.options());
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, B * H, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / H, h = i % H;
      weighted_sum(pp + i * S, vp + b * v.stride(0) + (h / groups) * v.stride(1), v.stride(2), S, D, yp + i * D);
    }
  });
  return y;
}

#else

at::Tensor decode_matmul(const at::Tensor&, const at::Tensor&, const at::Tensor&) { return {}; }
at::Tensor decode_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) { return {}; }

#endif

}  // namespace moalign::model
