#include "core/adapters/svd_lora.h"

#include <ATen/TensorOperators.h>
#include <ATen/Parallel.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/mm.h>
#include <torch/csrc/autograd/custom_function.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>

#include <optional>

#include "core/adapters/svd_lora_cpu.h"
#include "core/errors.h"
#ifdef MOALIGN_WITH_CUDA
#include "core/cuda/svd_lora_cuda.h"
#endif

namespace moalign::adapters {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// D = [σ, s λ] per preference row: (R, r).
at::Tensor diagonal_of(const at::Tensor& sigma, const at::Tensor& s, const at::Tensor& lambda) {
  const int64_t R = lambda.size(0);
  return at::cat({sigma.unsqueeze(0).expand({R, sigma.size(0)}), s.view({1, 1}) * lambda}, 1);
}

// The rank-r intermediates are kept as (P, r, nc): the N tokens cut into P chunks of nc = N / P
// consecutive tokens, each chunk transposed so that its products have r rows (see below). Every
// product with one side of size r is then one batched product of P independent pieces, which MKL
// (sgemm_batch) runs one piece per thread. A plain (r, K) @ (K, N) product does not scale: on the
// 2-vCPU benchmark machine (N 1024, d_model 256, the four projections' products summed, fastest of
// many runs) MKL took longer on two threads than on one (x V: 0.83 vs 0.70 ms, U^T G^T 0.96 vs
// 0.87, g^T G 0.95 vs 0.81), while the same products cut in P = 2 took 0.42, 0.73 and 0.68 ms.
// P: the intra-op threads, when the tokens split evenly into chunks of whole preference rows (a
// chunk's tokens must not straddle two λ rows unless all rows are one λ) of at least
// kMinChunkTokens; else 1. Below that size a product is a few microseconds and gains nothing.
constexpr int64_t kMinChunkTokens = 64;
int64_t token_chunks(const at::Tensor& x, int64_t N, int64_t R) {
  const int64_t P = x.is_cpu() ? at::get_num_threads() : 1;
  const bool even = N % P == 0 && (R == 1 || R % P == 0);
  return P > 1 && even && N / P >= kMinChunkTokens ? P : 1;
}

// E (R, r) per token, for a (P, r, nc) tensor of token columns: the view (P, r, a, n) of it that
// puts each preference row's n tokens in one run (a = R / P rows per chunk), and the matching
// factor (P, r, a, 1). One preference for all tokens counts as one row per chunk (a = 1, n = nc).
struct TokenRows {
  std::vector<int64_t> shape;  // (P, r, a, n)
  at::Tensor factor;           // (P, r, a, 1): E's rows, broadcast over their tokens
};
TokenRows token_rows(const at::Tensor& E, int64_t P, int64_t nc) {
  const int64_t r = E.size(1);
  const at::Tensor rows = E.size(0) == 1 ? E.expand({P, r}) : E;  // (R', r), R' a multiple of P
  const int64_t a = rows.size(0) / P;
  return {{P, r, a, nc / a}, rows.reshape({P, a, r}).transpose(1, 2).unsqueeze(3)};
}
at::Tensor scaled(const at::Tensor& t, const TokenRows& rows) { return (t.view(rows.shape) * rows.factor).view(t.sizes()); }

// design §4 with the frozen projection inside and E = c D folded together: forward
// y = x W0^T + b + ((x V) ⊙ E) U^T, keeping x, W0, h = x V, g = h ⊙ E and E (on a CUDA device
// one kernel scales and projects, core/cuda/svd_lora_scale_project.cu, and g is formed again in
// backward); backward forms the gradients of x, U, V, σ, s (and of W0 and b when they require
// grad) from them. λ (R, m) is a constant. Tokens run in R groups of n: one group per preference
// row, R = 1 when every token shares λ. With q = G U (N, r):
//   dU = G^T g,   dE[row] = Σ_{its tokens} q ⊙ h,   dD = c dE,   dh = q ⊙ E,   dV = x^T dh,
//   dx = G W0 + dh V^T.
//
// One node for base and adapter: the adapter's term is added into the base output in place, and
// its input gradient into the base's, so neither a second (N, out) output nor a second (N, in)
// gradient is made and summed, as they would be with the base as a separate autograd node.
//
// Float32 on the CPU (training's usual case), the rank-r products run in own kernels
// (svd_lora_cpu.h): BLAS spent about half of their time copying the big operand into its packed
// layout. Everywhere else (float64, CUDA, a base of another dtype, rank above 16) libtorch's:
// every rank-r quantity is kept transposed, r rows by tokens (h^T, g^T, q^T, dh^T), in P chunks
// (P, r, nc), so that each skinny product has r rows: MKL runs (r, K) @ (K, N) several times faster
// than (N, K) @ (K, r) (one thread, N 1024, out 2304, r 10: G U 3.2 ms, U^T G^T 0.8 ms; G^T g,
// which also copies G^T out, 5.0 ms, g^T G 0.9 ms). The layout also lets one product serve every
// preference row: E only scales token columns, so V, U and the sums over tokens never need the
// groups apart.
// The base runs in its weight's dtype, the adapter path in the parameters' (float32 over a
// bfloat16 base, say); the in-place sums need the two to agree, and otherwise add a cast copy.
//
// x̃ (N, in) in the adapter's dtype: x ⊙ keep under dropout (keep (N, in) = mask / (1 - p)), else x.
at::Tensor adapter_input(const at::Tensor& xb, const at::Tensor& keep, at::ScalarType dtype) {
  const at::Tensor xa = xb.to(dtype);
  return keep.defined() ? xa * keep : xa;
}

struct SvdLoraFunction : public torch::autograd::Function<SvdLoraFunction> {
  // bias and keep: none rather than an undefined tensor, which autograd's input bookkeeping
  // rejects. Last of the tensors: needs_input_grad counts tensor inputs only, so an absent one
  // shifts none of the others (keep, a constant mask, never needs a gradient).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& u, const at::Tensor& v,
                            const at::Tensor& sigma, const at::Tensor& s, const at::Tensor& lambda, const std::optional<at::Tensor>& bias,
                            const std::optional<at::Tensor>& keep, double c, bool conv1d) {
    const int64_t in = v.size(0), out = u.size(0), r = u.size(1);
    const at::Tensor xb = x.reshape({-1, in});                            // (N, in)
    const int64_t N = xb.size(0);
    const at::Tensor w = conv1d ? weight : weight.t();                    // (in, out)
    const at::Tensor E = diagonal_of(sigma, s, lambda).mul_(c);            // (R, r)     E = c D
    // Dropout acts on the adapter's input only: x̃ = x ⊙ keep, keep (N, in) = mask / (1 - p).
    const at::Tensor keep_b = keep ? keep->reshape({-1, in}).contiguous() : at::Tensor();  // (N, in) or undefined
    const at::Tensor xa = adapter_input(xb, keep_b, u.scalar_type());   // (N, in)   x̃
    // float32 on the CPU: the rank-r products in own kernels, h kept as (N, r) (svd_lora_cpu.h).
    const bool cpu_kernels = svd_lora_cpu_supported(xb, weight, bias ? *bias : at::Tensor(), u, v);
    at::Tensor y, h, gT, vt, ut;  // h: (N, r) from the kernels, else h^T (P, r, nc); gT (P, r, nc) or undefined
    if (cpu_kernels) {
      vt = kernel_factor(v);                                             // (r, padded(in))
      ut = kernel_factor(u);                                             // (r, padded(out))
      SvdLoraCpuForward f = svd_lora_cpu_forward(xb, w, bias ? *bias : at::Tensor(), xa.contiguous(), E, vt, ut);
      y = std::move(f.y);
      h = std::move(f.h);
    } else {
      y = bias ? at::addmm(*bias, xb, w) : at::mm(xb, w);               // (N, out)   frozen path
      const int64_t P = token_chunks(x, N, lambda.size(0)), nc = N / P;
      h = at::bmm(v.t().expand({P, r, in}), xa.view({P, nc, in}).transpose(1, 2));  // (P, r, nc)   h^T = V^T x̃^T
#ifdef MOALIGN_WITH_CUDA
      if (P == 1 && cuda::scale_project_supported(y, u)) cuda::scale_project(y, h[0], E, u);  // y += g U^T in one kernel; g never formed
      else
#endif
      {
        gT = scaled(h, token_rows(E, P, nc));                            // (P, r, nc)   g^T = (h ⊙ E)^T
        const at::Tensor UT = u.t().expand({P, r, out});                 // (P, r, out)
        if (y.scalar_type() == u.scalar_type()) y.view({P, nc, out}).baddbmm_(gT.transpose(1, 2), UT);  // y += g U^T
        else y.add_(at::bmm(gT.transpose(1, 2), UT).view({N, out}).to(y.scalar_type()));
      }
    }
    // keep, not x̃: backward needs the mask for dx, and x̃ = x ⊙ keep is cheap to form again.
    ctx->save_for_backward({x, weight, h, gT, E, u, v, lambda, keep_b, vt, ut});
    ctx->saved_data["c"] = c;
    ctx->saved_data["conv1d"] = conv1d;
    ctx->saved_data["bias"] = bias.has_value();
    ctx->saved_data["cpu_kernels"] = cpu_kernels;
    auto shape = x.sizes().vec();
    shape.back() = out;
    return y.view(shape);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &h = saved[2], &E = saved[4], &u = saved[5], &v = saved[6], &lambda = saved[7],
                     &keep = saved[8];  // keep (N, in), or undefined without dropout
    const double c = ctx->saved_data["c"].toDouble();
    const bool conv1d = ctx->saved_data["conv1d"].toBool(), has_bias = ctx->saved_data["bias"].toBool();
    const int64_t r = u.size(1), k = r - lambda.size(1), out = u.size(0), in = v.size(0), N = x.numel() / in;
    const at::Tensor Gb = grad_out[0].reshape({N, out});                // (N, out)   in the base dtype
    at::Tensor dx, dweight, dbias, du, dv, dE, dsigma, ds;
    const bool want_dE = ctx->needs_input_grad(4) || ctx->needs_input_grad(5);
    // The frozen path's input gradient first: a big product that uses every thread on its own.
    if (ctx->needs_input_grad(0)) dx = at::mm(Gb, conv1d ? weight.t() : weight);  // (N, in)   G W0
    if (ctx->saved_data["cpu_kernels"].toBool()) {
      // The kernels' gradients are plain values, with no graph of their own to differentiate.
      if (at::GradMode::is_enabled())
        throw InvalidArgument("SVD-LoRA: a gradient of the gradient (create_graph) is not available for float32 on the CPU; use float64");
      const at::Tensor &vt = saved[9], &ut = saved[10];  // V and U as the kernels take them
      const at::Tensor xa = ctx->needs_input_grad(3) ? adapter_input(x.reshape({N, in}), keep, u.scalar_type()).contiguous() : at::Tensor();
      const SvdLoraCpuGradients g = svd_lora_cpu_backward(Gb.contiguous(), xa, h, E, vt, ut, dx, keep, ctx->needs_input_grad(2),
                                                          ctx->needs_input_grad(3), want_dE);
      du = g.du;
      dv = g.dv;
      dE = g.dE;
    } else {
      backward_libtorch(ctx, saved, Gb, dx, du, dv, dE);
    }
    if (dx.defined()) dx = dx.view(x.sizes());
    if (want_dE) {
      const at::Tensor dD = dE.mul_(c);                                  // (R, r)
      if (ctx->needs_input_grad(4)) dsigma = dD.narrow(1, 0, k).sum(0);  // (k)
      if (ctx->needs_input_grad(5)) ds = (dD.narrow(1, k, r - k) * lambda).sum().view({1});
    }
    // The base's own parameters, when trained alongside the adapter (a full fine-tune).
    if (ctx->needs_input_grad(1)) {
      const at::Tensor xb = x.reshape({N, in});
      dweight = conv1d ? at::mm(xb.t(), Gb) : at::mm(Gb.t(), xb);     // (in, out) or (out, in)
    }
    if (has_bias && ctx->needs_input_grad(7)) dbias = Gb.sum(0);      // (out)
    return {dx, dweight, du, dv, dsigma, ds, at::Tensor(), dbias, at::Tensor(), at::Tensor(), at::Tensor()};
  }

  // The adapter's gradients through libtorch's products, from h^T (P, r, nc): du (out, r), dv
  // (in, r), dE (R, r) as asked for; dx (N, in), when defined, gets dh V^T added.
  static void backward_libtorch(AutogradContext* ctx, const variable_list& saved, const at::Tensor& Gb, at::Tensor& dx, at::Tensor& du, at::Tensor& dv,
                                at::Tensor& dE) {
    const at::Tensor &x = saved[0], &hT = saved[2], &E = saved[4], &u = saved[5], &v = saved[6], &lambda = saved[7], &keep = saved[8];
    const int64_t P = hT.size(0), r = u.size(1), nc = hT.size(2), N = P * nc, out = u.size(0), in = v.size(0);
    const at::Tensor G3 = Gb.to(u.scalar_type()).view({P, nc, out});    // (P, nc, out)   in the adapter's dtype
    const TokenRows rows = token_rows(E, P, nc);
    if (ctx->needs_input_grad(2)) {
      const at::Tensor gT = saved[3].defined() ? saved[3] : scaled(hT, rows);  // (P, r, nc), formed again after the CUDA kernel
      du = at::bmm(gT, G3).sum(0).t();                                   // (out, r) = (Σ_chunks g^T G)^T
    }
    const at::Tensor qT = at::bmm(u.t().expand({P, r, out}), G3.transpose(1, 2));  // (P, r, nc)   q^T = U^T G^T
    if (ctx->needs_input_grad(4) || ctx->needs_input_grad(5)) {
      // Σ over each preference row's tokens: (P, r, a) -> (R', r), then one row when all share λ
      dE = (qT * hT).view(rows.shape).sum(3).transpose(1, 2).reshape({-1, r});
      if (lambda.size(0) == 1) dE = dE.sum(0, /*keepdim=*/true);
    }
    if (!ctx->needs_input_grad(0) && !ctx->needs_input_grad(3)) return;
    const at::Tensor dhT = scaled(qT, rows);                              // (P, r, nc)   dh^T = (q ⊙ E)^T
    if (ctx->needs_input_grad(3)) {
      const at::Tensor xa = adapter_input(x.reshape({N, in}), keep, u.scalar_type());  // (N, in)   x̃
      dv = at::bmm(dhT, xa.view({P, nc, in})).sum(0).t();                // (in, r) = (Σ_chunks dh^T x̃)^T
    }
    if (ctx->needs_input_grad(0)) {
      const at::Tensor VT = v.t().expand({P, r, in});                    // (P, r, in)
      if (keep.defined()) dx.add_((at::bmm(dhT.transpose(1, 2), VT).view({N, in}) * keep).to(dx.scalar_type()));  // + (dh V^T) ⊙ keep
      else if (dx.scalar_type() == u.scalar_type()) dx.view({P, nc, in}).baddbmm_(dhT.transpose(1, 2), VT);      // + dh V^T, in place
      else dx.add_(at::bmm(dhT.transpose(1, 2), VT).view({N, in}).to(dx.scalar_type()));
    }
  }
};

}  // namespace

at::Tensor svd_lora_apply(const at::Tensor& x, const FrozenProjection& base, const at::Tensor& u, const at::Tensor& v, const at::Tensor& sigma,
                          const at::Tensor& s, const at::Tensor& lambda, double scaling, const at::Tensor& keep) {
  if (x.size(-1) != v.size(0)) throw InvalidArgument("SVD-LoRA: input has " + std::to_string(x.size(-1)) + " features, V expects " + std::to_string(v.size(0)));
  const int64_t R = lambda.size(0);
  if (R > 1 && (x.dim() != 3 || x.size(0) != R))
    throw InvalidArgument("SVD-LoRA: " + std::to_string(R) + " preference rows need an input of " + std::to_string(R) +
                          " batch rows (B, T, features), got " + (x.dim() == 3 ? std::to_string(x.size(0)) + " rows" : "a " + std::to_string(x.dim()) + "-d input") +
                          "; give one preference per batch row");
  if (keep.defined() && keep.sizes() != x.sizes())
    throw InvalidArgument("SVD-LoRA: the dropout mask must have the input's shape");
  const std::optional<at::Tensor> bias = base.bias.defined() ? std::optional<at::Tensor>(base.bias) : std::nullopt;
  const std::optional<at::Tensor> kept = keep.defined() ? std::optional<at::Tensor>(keep.detach()) : std::nullopt;
  return SvdLoraFunction::apply(x, base.weight, u, v, sigma, s, lambda, bias, kept, scaling, base.conv1d);
}

SvdLora::SvdLora(std::string name, at::Tensor u, at::Tensor v, at::Tensor sigma, at::Tensor s, double alpha, std::shared_ptr<DropoutStream> dropout)
    : name_(std::move(name)), u_(std::move(u)), v_(std::move(v)), sigma_(std::move(sigma)), s_(std::move(s)), alpha_(alpha), dropout_(std::move(dropout)) {
  if (u_.dim() != 2 || v_.dim() != 2 || u_.size(1) != v_.size(1) || sigma_.dim() != 1 || s_.dim() != 1 || s_.size(0) != 1 || sigma_.size(0) >= u_.size(1))
    throw InvalidArgument(name_ + ": SVD-LoRA tensors must be U (out, k+m), V (in, k+m), sigma (k), s (1) with m >= 1");
  for (at::Tensor* t : {&u_, &v_, &sigma_, &s_}) t->requires_grad_(true);
}

void SvdLora::set_preference(const at::Tensor& lambda) {
  const at::Tensor rows = lambda.dim() == 1 ? lambda.view({1, -1}) : lambda;
  if (rows.dim() != 2 || rows.size(1) != m() || rows.size(0) < 1)
    throw InvalidArgument(name_ + ": a preference must be (" + std::to_string(m()) + ") or (B, " + std::to_string(m()) + ")");
  lambda_ = rows.detach().to(u_.device(), u_.scalar_type()).clone();  // a buffer: no grad, never a parameter
}

const at::Tensor& SvdLora::checked_preference() const {
  if (!lambda_.defined()) throw InvalidArgument(name_ + ": SVD-LoRA has no preference; set one first (set_preference / setPreference)");
  return lambda_;
}

at::Tensor SvdLora::forward(const at::Tensor& x, const FrozenProjection& base) const {
  return svd_lora_apply(x, base, u_, v_, sigma_, s_, checked_preference(), scaling(), dropout_keep(x));
}

at::Tensor SvdLora::dropout_keep(const at::Tensor& x) const {
  if (!dropout_ || !dropout_->active() || !at::GradMode::is_enabled()) return at::Tensor();
  const double p = dropout_->p;
  // Drawn on the CPU from the stream's generator, so a seed gives the same masks on every device.
  const at::Tensor mask = at::empty(x.sizes(), at::TensorOptions().dtype(at::kFloat)).bernoulli_(1.0 - p, *dropout_->generator);
  return mask.div_(1.0 - p).to(x.device(), u_.scalar_type());  // (..., in): 0 or 1 / (1 - p)
}

void DropoutStream::start(uint64_t seed) { generator = at::make_generator<at::CPUGeneratorImpl>(seed); }
void DropoutStream::stop() { generator.reset(); }

at::Tensor SvdLora::delta_weight() const {
  const at::Tensor& lambda = checked_preference();
  if (lambda.size(0) > 1 && !lambda.eq(lambda.narrow(0, 0, 1)).all().item<bool>())
    throw InvalidArgument(name_ + ": cannot merge " + std::to_string(lambda.size(0)) + " different preference rows into one weight; set a single preference");
  const at::Tensor D = diagonal_of(sigma_.detach(), s_.detach(), lambda.narrow(0, 0, 1)).to(at::kFloat);  // (1, r)
  return at::matmul(u_.detach().to(at::kFloat) * D, v_.detach().to(at::kFloat).t()) * scaling();     // (out, in)
}

std::vector<std::pair<std::string, at::Tensor>> SvdLora::parameters() const {
  return {{"svd_lora_U", u_}, {"svd_lora_V", v_}, {"svd_lora_sigma", sigma_}, {"svd_lora_s", s_}};
}

}  // namespace moalign::adapters
