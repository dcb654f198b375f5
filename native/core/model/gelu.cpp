#include "core/model/gelu.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/gelu_backward.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>

#include "core/float_lanes.h"

namespace moalign::model {

namespace {

using namespace lanes;

// 1 + tanh(u) = 2 sigmoid(2u) = 2 / (1 + e^{-2u}), so gelu(x) = x / (1 + e), e = e^{-2u}, and
//   gelu'(x) = s + x s (1 - s) 2u',   s = 1 / (1 + e),  1 - s = e s,  2u' = 2k (1 + 3a x^2).
// s and 1 - s are both formed without a difference, so neither tail loses digits.
constexpr float kTwoK = 1.5957691216057308f;            // 2 sqrt(2/pi)
constexpr float kTwoKA = 1.5957691216057308f * 0.044715f;  // 2 sqrt(2/pi) 0.044715

MOALIGN_LANES f32x16 e_of(const f32x16& x) { return exp_clamped(-x * (splat(kTwoK) + splat(kTwoKA) * x * x)); }  // e^{-2u}

MOALIGN_LANES f32x16 gelu_lanes(const f32x16& x) { return x / (splat(1.0f) + e_of(x)); }

MOALIGN_LANES f32x16 gelu_grad_lanes(const f32x16& x, const f32x16& g) {
  const f32x16 e = e_of(x);
  const f32x16 s = splat(1.0f) / (splat(1.0f) + e);
  const f32x16 du2 = splat(kTwoK) + splat(3.0f * kTwoKA) * x * x;  // 2u'
  return g * (s + x * du2 * s * (e * s));
}

// y[i] = f(x[i]) (forward) or f(x[i], g[i]) (backward) over [0, n), 16 at a time; the tail goes
// through a zero-padded vector. One copy per instruction set (float_lanes.h).
MOALIGN_CPU_CLONES void gelu_forward_run(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store_lanes(y + i, gelu_lanes(load_lanes(x + i)));
  if (i < n) store_first(y + i, gelu_lanes(load_first(x + i, n - i)), n - i);
}

MOALIGN_CPU_CLONES void gelu_backward_run(const float* x, const float* g, float* dx, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store_lanes(dx + i, gelu_grad_lanes(load_lanes(x + i), load_lanes(g + i)));
  if (i < n) store_first(dx + i, gelu_grad_lanes(load_first(x + i, n - i), load_first(g + i, n - i)), n - i);
}

// Chunks of this many elements per task (ATen's grain size for element-wise kernels).
constexpr int64_t kGrain = 32768;

// Saves x, not gelu(x): the next projection keeps its own input, and the derivative needs x.
struct GeluTanhFunction : public torch::autograd::Function<GeluTanhFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    const at::Tensor xc = x.contiguous();
    at::Tensor y = at::empty_like(xc);
    const float* xp = xc.const_data_ptr<float>();
    float* yp = y.mutable_data_ptr<float>();
    at::parallel_for(0, xc.numel(), kGrain, [&](int64_t begin, int64_t end) { gelu_forward_run(xp + begin, yp + begin, end - begin); });
    ctx->save_for_backward({xc});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_out) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    // A gradient that is itself differentiated (create_graph) goes through ATen's formula.
    if (at::GradMode::is_enabled()) return {at::gelu_backward(grad_out[0], x, "tanh")};
    const at::Tensor g = grad_out[0].contiguous();
    at::Tensor dx = at::empty_like(x);
    const float *xp = x.const_data_ptr<float>(), *gp = g.const_data_ptr<float>();
    float* dxp = dx.mutable_data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) { gelu_backward_run(xp + begin, gp + begin, dxp + begin, end - begin); });
    return {dx};
  }
};

}  // namespace

at::Tensor gelu_tanh(const at::Tensor& x) {
  if (x.scalar_type() != at::kFloat || !x.is_cpu()) return at::gelu(x, "tanh");
  return GeluTanhFunction::apply(x);
}

}  // namespace moalign::model
