#include "core/model/causal_attention.h"

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/split.h>
#include <ATen/ops/triu.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/float_lanes.h"

// The BLAS that libtorch links and ATen's own mm calls (MKL in x86-64 builds): Fortran interface,
// 32-bit integers, column-major. Weak: in a libtorch without it the address is null and
// causal_attention declines, so attention takes SDPA.
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha, const float* a,
                       const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc) __attribute__((weak));

namespace moalign::model {

namespace {

using namespace lanes;

constexpr int64_t kMaxT = 256;  // longest sequence served: a head's T x T scores stay in L2
// Query rows per product. Block i's rows see i + 1 blocks of keys, so at T = 128 the products do
// 10/16 of the full square's work; measured per layer of the bench (1 thread), 32 rows ran about
// 5% faster than 64 (12/16 of the work in larger calls) and than 16.
constexpr int64_t kBlock = 32;

// C (m x n, rows ldc apart) = alpha op(A) op(B) + beta C over row-major matrices, op(A) (m x k),
// op(B) (k x n), op = transposition where asked. sgemm is column-major, and a row-major matrix is
// the column-major one of its transpose: C^T = op(B)^T op(A)^T.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
          float beta, float* c, int64_t ldc) {
  const char ta = trans_b ? 'T' : 'N', tb = trans_a ? 'T' : 'N';
  const int M = static_cast<int>(n), N = static_cast<int>(m), K = static_cast<int>(k);
  const int LA = static_cast<int>(ldb), LB = static_cast<int>(lda), LC = static_cast<int>(ldc);
  sgemm_(&ta, &tb, &M, &N, &K, &alpha, b, &LA, a, &LB, &beta, c, &LC);
}

MOALIGN_LANES float lane_max(const f32x16& v) {
  float m = v[0];
  for (int i = 1; i < kLanes; ++i) m = std::max(m, v[i]);
  return m;
}

MOALIGN_LANES float lane_sum(const f32x16& v) {
  float s = 0;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

// One query's row of scores: row[0, n) <- softmax(row[0, n)) (the keys it sees), row[n, end) <- 0.
MOALIGN_CPU_CLONES void softmax_row(float* row, int64_t n, int64_t end) {
  const float inf = std::numeric_limits<float>::infinity();
  int64_t j = 0;
  f32x16 mv = splat(-inf);
  for (; j + kLanes <= n; j += kLanes) {
    const f32x16 v = load_lanes(row + j);
    mv = v > mv ? v : mv;
  }
  if (j < n) {
    const f32x16 v = load_first(row + j, n - j, -inf);
    mv = v > mv ? v : mv;
  }
  const f32x16 m = splat(lane_max(mv));
  f32x16 sv = splat(0.0f), e;
  for (j = 0; j + kLanes <= n; j += kLanes) {
    e = exp_clamped(load_lanes(row + j) - m);
    sv += e;
    store_lanes(row + j, e);
  }
  if (j < n) {
    e = exp_clamped(load_first(row + j, n - j, -inf) - m);
    for (int64_t i = n - j; i < kLanes; ++i) e[i] = 0;  // lanes past the row add nothing
    sv += e;
    store_first(row + j, e, n - j);
  }
  const f32x16 inv = splat(1.0f / lane_sum(sv));
  for (j = 0; j + kLanes <= n; j += kLanes) store_lanes(row + j, load_lanes(row + j) * inv);
  for (; j < n; ++j) row[j] *= inv[0];
  std::fill(row + n, row + end, 0.0f);
}

// The softmax's backward over one row, in place: dp[j] <- p[j] (dp[j] - sum_i p[i] dp[i]), j < n.
// Entries with p = 0 (keys after the query) come out 0.
MOALIGN_CPU_CLONES void softmax_backward_row(const float* p, float* dp, int64_t n) {
  f32x16 dot = splat(0.0f);
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) dot += load_lanes(p + j) * load_lanes(dp + j);
  if (j < n) dot += load_first(p + j, n - j) * load_first(dp + j, n - j);
  const f32x16 d = splat(lane_sum(dot));
  for (j = 0; j + kLanes <= n; j += kLanes) store_lanes(dp + j, load_lanes(p + j) * (load_lanes(dp + j) - d));
  for (; j < n; ++j) dp[j] = p[j] * (dp[j] - d[0]);
}

// Sizes and row strides of one call: qkv rows are 3C floats apart, y's and dy's C.
struct Dims {
  int64_t B, T, H, D, C;
  float scale;  // 1 / sqrt(D)
};

// Head h of sequence b: y_h = P v_h with P = softmax(q_h k_h^T scale + mask), P kept in p (T x T,
// rows T apart; zero after each row's last key up to its block's end, never read beyond).
void forward_head(const Dims& s, const float* qkv, float* p, float* y, int64_t b, int64_t h) {
  const int64_t ld = 3 * s.C;
  const float* q = qkv + b * s.T * ld + h * s.D;
  const float *k = q + s.C, *v = q + 2 * s.C;
  float* yh = y + b * s.T * s.C + h * s.D;
  for (int64_t r0 = 0; r0 < s.T; r0 += kBlock) {
    const int64_t r1 = std::min(r0 + kBlock, s.T), rows = r1 - r0;  // queries [r0, r1) see keys [0, r1)
    gemm(false, true, rows, r1, s.D, s.scale, q + r0 * ld, ld, k, ld, 0, p + r0 * s.T, s.T);  // scores
    for (int64_t i = r0; i < r1; ++i) softmax_row(p + i * s.T, i + 1, r1);
    gemm(false, false, rows, s.D, r1, 1, p + r0 * s.T, s.T, v, ld, 0, yh + r0 * s.C, s.C);
  }
}

// Its backward, from dy_h and the kept P, into dq_h | dk_h | dv_h of dqkv (same layout as qkv):
//   dv = P^T dy,  dS = P (dy v^T - rowsum(P dy v^T)) scale,  dq = dS k,  dk = dS^T q.
// dk and dv sum over the query blocks: the last block (which sees every key) writes them, the
// earlier ones add into their first rows. ds: scratch for T x T floats.
void backward_head(const Dims& s, const float* qkv, const float* p, const float* dy, float* dqkv, float* ds, int64_t b, int64_t h) {
  const int64_t ld = 3 * s.C;
  const float* q = qkv + b * s.T * ld + h * s.D;
  const float *k = q + s.C, *v = q + 2 * s.C;
  const float* dyh = dy + b * s.T * s.C + h * s.D;
  float* dq = dqkv + b * s.T * ld + h * s.D;
  float *dk = dq + s.C, *dv = dq + 2 * s.C;
  const int64_t last = (s.T - 1) / kBlock * kBlock;
  for (int64_t r0 = last; r0 >= 0; r0 -= kBlock) {
    const int64_t r1 = std::min(r0 + kBlock, s.T), rows = r1 - r0;
    const float beta = r0 == last ? 0 : 1;
    const float* pb = p + r0 * s.T;
    float* db = ds + r0 * s.T;
    gemm(true, false, r1, s.D, rows, 1, pb, s.T, dyh + r0 * s.C, s.C, beta, dv, ld);     // dv[0, r1) (+)= P^T dy
    gemm(false, true, rows, r1, s.D, 1, dyh + r0 * s.C, s.C, v, ld, 0, db, s.T);        // dP = dy v^T
    for (int64_t i = r0; i < r1; ++i) softmax_backward_row(pb + (i - r0) * s.T, db + (i - r0) * s.T, r1);
    gemm(false, false, rows, s.D, r1, s.scale, db, s.T, k, ld, 0, dq + r0 * ld, ld);     // dq = dS k scale
    gemm(true, false, r1, s.D, rows, s.scale, db, s.T, q + r0 * ld, ld, beta, dk, ld);  // dk[0, r1) (+)= dS^T q scale
  }
}

// The same attention in differentiable ATen ops, for a backward that is itself differentiated
// (create_graph): scores, the causal mask, softmax, values.
at::Tensor attention_by_aten_ops(const at::Tensor& qkv, int64_t heads) {
  const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3, D = C / heads;
  const std::vector<at::Tensor> parts = qkv.split(C, -1);
  auto heads_of = [&](const at::Tensor& t) { return t.reshape({B, T, heads, D}).transpose(1, 2); };  // (B, H, T, D)
  const at::Tensor q = heads_of(parts[0]), k = heads_of(parts[1]), v = heads_of(parts[2]);
  const at::Tensor future = at::ones({T, T}, qkv.options().dtype(at::kBool)).triu(1);
  const at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).mul(1.0 / std::sqrt(static_cast<double>(D))).masked_fill(future, -INFINITY);
  return at::matmul(at::softmax(scores, -1), v).transpose(1, 2).reshape({B, T, C});
}

Dims dims_of(const at::Tensor& qkv, int64_t heads) {
  const int64_t C = qkv.size(2) / 3;
  return Dims{qkv.size(0), qkv.size(1), heads, C / heads, C, static_cast<float>(1.0 / std::sqrt(static_cast<double>(C / heads)))};
}

struct CausalAttentionFunction : public torch::autograd::Function<CausalAttentionFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& qkv, int64_t heads) {
    const Dims s = dims_of(qkv, heads);
    at::Tensor y = at::empty({s.B, s.T, s.C}, qkv.options());
    // P for backward, or (no gradient wanted) one head's worth of scratch per task
    const bool keep = qkv.requires_grad();
    at::Tensor p = keep ? at::empty({s.B * s.H, s.T, s.T}, qkv.options()) : at::Tensor();
    const float* x = qkv.const_data_ptr<float>();
    float* yp = y.mutable_data_ptr<float>();
    at::parallel_for(0, s.B * s.H, 1, [&](int64_t u0, int64_t u1) {
      std::vector<float> scratch(keep ? 0 : static_cast<std::size_t>(s.T * s.T));
      for (int64_t u = u0; u < u1; ++u) forward_head(s, x, keep ? p.mutable_data_ptr<float>() + u * s.T * s.T : scratch.data(), yp, u / s.H, u % s.H);
    });
    if (keep) ctx->save_for_backward({qkv, p});
    ctx->saved_data["heads"] = heads;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &qkv = saved[0], &p = saved[1];
    const int64_t heads = ctx->saved_data["heads"].toInt();
    if (at::GradMode::is_enabled()) {
      const at::Tensor y = attention_by_aten_ops(qkv, heads);
      return {torch::autograd::grad({y}, {qkv}, {grad_out[0]}, /*retain_graph=*/true, /*create_graph=*/true)[0], at::Tensor()};
    }
    const Dims s = dims_of(qkv, heads);
    const at::Tensor dy = grad_out[0].contiguous();
    at::Tensor dqkv = at::empty_like(qkv);
    const float *x = qkv.const_data_ptr<float>(), *pp = p.const_data_ptr<float>(), *g = dy.const_data_ptr<float>();
    float* dx = dqkv.mutable_data_ptr<float>();
    at::parallel_for(0, s.B * s.H, 1, [&](int64_t u0, int64_t u1) {
      std::vector<float> ds(static_cast<std::size_t>(s.T * s.T));
      for (int64_t u = u0; u < u1; ++u) backward_head(s, x, pp + u * s.T * s.T, g, dx, ds.data(), u / s.H, u % s.H);
    });
    return {dqkv, at::Tensor()};
  }
};

}  // namespace

at::Tensor causal_attention(const at::Tensor& qkv, int64_t heads) {
  if (sgemm_ == nullptr || qkv.scalar_type() != at::kFloat || !qkv.is_cpu() || qkv.dim() != 3 || qkv.size(2) % 3 != 0) return {};
  const int64_t T = qkv.size(1), C = qkv.size(2) / 3;
  if (T < 1 || T > kMaxT || heads < 1 || C % heads != 0 || qkv.size(0) < 1) return {};
  return CausalAttentionFunction::apply(qkv.contiguous(), heads);
}

}  // namespace moalign::model
