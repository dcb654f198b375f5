#include "core/adapters/svd_lora.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/mm.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/errors.h"

namespace moalign::adapters {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// D = [σ, s λ] per preference row: (R, r).
at::Tensor diagonal_of(const at::Tensor& sigma, const at::Tensor& s, const at::Tensor& lambda) {
  const int64_t R = lambda.size(0);
  return at::cat({sigma.unsqueeze(0).expand({R, sigma.size(0)}), s.view({1, 1}) * lambda}, 1);
}

// t ⊙ D column-wise, for t (r, N) holding R groups of n = N / R token columns, group i scaled by
// row i of D (R, r): (r, N).
at::Tensor scale_rows(const at::Tensor& t, const at::Tensor& D) {
  const int64_t r = t.size(0), R = D.size(0);
  return (t.view({r, R, -1}) * D.t().unsqueeze(2)).view({r, -1});
}

// design §4: forward y = base + c ((x V) ⊙ D) U^T, keeping x, h = x V and D; backward forms the
// gradients of U, V, σ, s and x from them (the base path's own gradient, G W0, flows through
// `base`, which the frozen projection computed outside). λ (R, m) is a constant. Tokens run in
// R groups of n: one group per preference row, R = 1 when every token shares λ.
//
// Every rank-r quantity is kept transposed, (r, N) with the N = R n tokens as columns (h^T, g^T,
// dg^T, dh^T), so that each skinny product has r rows: MKL runs (r, K) @ (K, N) several times
// faster than (N, K) @ (K, r) (one thread, N 1024, out 2304, r 10: G U 3.2 ms, U^T G^T 0.8 ms;
// G^T g, which also copies G^T out, 5.0 ms, g^T G 0.9 ms). The layout also lets one product serve every
// preference row: D only scales token columns, so V, U and the sums over tokens never need the
// groups apart.
// The adapter path runs in the parameters' dtype (float32 over a bfloat16 base, say).
struct SvdLoraFunction : public torch::autograd::Function<SvdLoraFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& base, const at::Tensor& x, const at::Tensor& u, const at::Tensor& v,
                            const at::Tensor& sigma, const at::Tensor& s, const at::Tensor& lambda, double c) {
    const int64_t in = v.size(0), out = u.size(0);
    const at::Tensor xf = x.to(u.scalar_type()).reshape({-1, in});  // (N, in)
    const at::Tensor D = diagonal_of(sigma, s, lambda);              // (R, r)
    const at::Tensor hT = at::mm(v.t(), xf.t());                     // (r, N)   h^T = V^T x^T
    const at::Tensor gT = scale_rows(hT, D);                         // (r, N)   g^T = (h ⊙ D)^T
    const at::Tensor y = at::addmm(base.reshape({-1, out}).to(u.scalar_type()), gT.t(), u.t(), 1.0, c);  // (N, out)
    ctx->save_for_backward({x, hT, D, u, v, lambda});
    ctx->saved_data["c"] = c;
    return y.to(base.scalar_type()).view(base.sizes());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &hT = saved[1], &D = saved[2], &u = saved[3], &v = saved[4], &lambda = saved[5];
    const double c = ctx->saved_data["c"].toDouble();
    const int64_t R = lambda.size(0), r = u.size(1), k = r - lambda.size(1), out = u.size(0), in = v.size(0);
    const at::Tensor& G = grad_out[0];                                 // (..., out)
    const at::Tensor Gf = G.to(u.scalar_type()).reshape({-1, out});    // (N, out)
    const at::Tensor dgT = at::mm(u.t(), Gf.t()).mul_(c);              // (r, N)    dg^T = c U^T G^T
    at::Tensor du, dv, dsigma, ds, dx;
    if (ctx->needs_input_grad(2)) du = at::mm(scale_rows(hT, D), Gf).mul_(c).t();  // (out, r) = (c g^T G)^T, g recomputed, not saved
    if (ctx->needs_input_grad(4) || ctx->needs_input_grad(5)) {
      const at::Tensor dD = (dgT * hT).view({r, R, -1}).sum(2).t();    // (R, r)   per preference row
      if (ctx->needs_input_grad(4)) dsigma = dD.narrow(1, 0, k).sum(0);  // (k)
      if (ctx->needs_input_grad(5)) ds = (dD.narrow(1, k, r - k) * lambda).sum().view({1});
    }
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(3)) {
      const at::Tensor dhT = scale_rows(dgT, D);                                                         // (r, N)
      if (ctx->needs_input_grad(3)) dv = at::mm(dhT, x.to(u.scalar_type()).reshape({-1, in})).t();      // (in, r) = (dh^T x)^T
      if (ctx->needs_input_grad(1)) dx = at::mm(dhT.t(), v.t()).to(x.scalar_type()).view(x.sizes());   // (..., in) = dh V^T
    }
    return {G, dx, du, dv, dsigma, ds, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor svd_lora_apply(const at::Tensor& base, const at::Tensor& x, const at::Tensor& u, const at::Tensor& v, const at::Tensor& sigma,
                          const at::Tensor& s, const at::Tensor& lambda, double scaling) {
  if (x.size(-1) != v.size(0)) throw InvalidArgument("SVD-LoRA: input has " + std::to_string(x.size(-1)) + " features, V expects " + std::to_string(v.size(0)));
  const int64_t R = lambda.size(0);
  if (R > 1 && (x.dim() != 3 || x.size(0) != R))
    throw InvalidArgument("SVD-LoRA: " + std::to_string(R) + " preference rows need an input of " + std::to_string(R) +
                          " batch rows (B, T, features), got " + (x.dim() == 3 ? std::to_string(x.size(0)) + " rows" : "a " + std::to_string(x.dim()) + "-d input") +
                          "; give one preference per batch row");
  return SvdLoraFunction::apply(base, x, u, v, sigma, s, lambda, scaling);
}

SvdLora::SvdLora(std::string name, at::Tensor u, at::Tensor v, at::Tensor sigma, at::Tensor s, double alpha)
    : name_(std::move(name)), u_(std::move(u)), v_(std::move(v)), sigma_(std::move(sigma)), s_(std::move(s)), alpha_(alpha) {
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

at::Tensor SvdLora::forward(const at::Tensor& x, const at::Tensor& base) const {
  return svd_lora_apply(base, x, u_, v_, sigma_, s_, checked_preference(), scaling());
}

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
