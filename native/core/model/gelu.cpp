#include "core/model/gelu.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/gelu_backward.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <cstring>

namespace moalign::model {

namespace {

// 16 floats, one AVX-512 register; on narrower targets the compiler splits it into 2 or 4.
using f32x16 = float __attribute__((vector_size(64)));
using i32x16 = int32_t __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;
// The helpers below take and return vectors: they must be inlined into each instruction set's
// copy of the loops (further down), whose register conventions for 64-byte vectors differ.
// (-Wpsabi warns of exactly that difference, which inlining makes moot.)
#define LANES inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi"

LANES f32x16 splat(float a) { return f32x16{} + a; }

// e^t as Cephes' expf: t = n ln2 + r with |r| <= ln2/2, e^r by a polynomial, 2^n written into the
// exponent bits; within 1-2 ulp. t is clamped to [-87, 88] so that 2^n stays a normal float:
// e^t bottoms out at 1.6e-38 and tops out at 1.7e38 instead of reaching 0 and inf, which is
// all the GELU below needs (it only ever forms 1 + e^t and x / (1 + e^t)).
LANES f32x16 exp_clamped(const f32x16& t_in) {
  f32x16 t = t_in < splat(-87.0f) ? splat(-87.0f) : t_in;
  t = t > splat(88.0f) ? splat(88.0f) : t;
  const f32x16 round = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const f32x16 n = (t * splat(1.44269504088896341f) + round) - round;
  const f32x16 r = (t - n * splat(0.693359375f)) - n * splat(-2.12194440e-4f);  // ln 2 in two parts
  f32x16 p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * r * r + r + splat(1.0f);
  const i32x16 two_n = (__builtin_convertvector(n, i32x16) + 127) << 23;  // the bits of 2^n
  return p * (f32x16)two_n;
}

// 1 + tanh(u) = 2 sigmoid(2u) = 2 / (1 + e^{-2u}), so gelu(x) = x / (1 + e), e = e^{-2u}, and
//   gelu'(x) = s + x s (1 - s) 2u',   s = 1 / (1 + e),  1 - s = e s,  2u' = 2k (1 + 3a x^2).
// s and 1 - s are both formed without a difference, so neither tail loses digits.
constexpr float kTwoK = 1.5957691216057308f;            // 2 sqrt(2/pi)
constexpr float kTwoKA = 1.5957691216057308f * 0.044715f;  // 2 sqrt(2/pi) 0.044715

LANES f32x16 e_of(const f32x16& x) { return exp_clamped(-x * (splat(kTwoK) + splat(kTwoKA) * x * x)); }  // e^{-2u}

LANES f32x16 gelu_lanes(const f32x16& x) { return x / (splat(1.0f) + e_of(x)); }

LANES f32x16 gelu_grad_lanes(const f32x16& x, const f32x16& g) {
  const f32x16 e = e_of(x);
  const f32x16 s = splat(1.0f) / (splat(1.0f) + e);
  const f32x16 du2 = splat(kTwoK) + splat(3.0f * kTwoKA) * x * x;  // 2u'
  return g * (s + x * du2 * s * (e * s));
}

// y[i] = f(x[i]) (forward) or f(x[i], g[i]) (backward) over [0, n), 16 at a time; the tail goes
// through a zero-padded vector. One copy per instruction set, chosen at load time: the binary
// stays portable and runs AVX-512 where the CPU has it.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define MOALIGN_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MOALIGN_CPU_CLONES
#endif

MOALIGN_CPU_CLONES void gelu_forward_run(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  f32x16 v, out;
  for (; i + kLanes <= n; i += kLanes) {
    std::memcpy(&v, x + i, sizeof v);
    out = gelu_lanes(v);
    std::memcpy(y + i, &out, sizeof out);
  }
  if (i == n) return;
  v = splat(0.0f);
  std::memcpy(&v, x + i, static_cast<std::size_t>(n - i) * sizeof(float));
  out = gelu_lanes(v);
  std::memcpy(y + i, &out, static_cast<std::size_t>(n - i) * sizeof(float));
}

MOALIGN_CPU_CLONES void gelu_backward_run(const float* x, const float* g, float* dx, int64_t n) {
  int64_t i = 0;
  f32x16 v, w, out;
  for (; i + kLanes <= n; i += kLanes) {
    std::memcpy(&v, x + i, sizeof v);
    std::memcpy(&w, g + i, sizeof w);
    out = gelu_grad_lanes(v, w);
    std::memcpy(dx + i, &out, sizeof out);
  }
  if (i == n) return;
  v = w = splat(0.0f);
  std::memcpy(&v, x + i, static_cast<std::size_t>(n - i) * sizeof(float));
  std::memcpy(&w, g + i, static_cast<std::size_t>(n - i) * sizeof(float));
  out = gelu_grad_lanes(v, w);
  std::memcpy(dx + i, &out, static_cast<std::size_t>(n - i) * sizeof(float));
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
