// 16 float32 lanes as a GCC vector type, and the few lane functions that our element-wise CPU
// kernels share (model/gelu.cpp, model/causal_attention.cpp). A kernel written with them is
// compiled once per instruction set with MOALIGN_CPU_CLONES and the CPU picks its copy at load
// time: the binary stays portable and runs AVX-512 where the CPU has it. Core-internal; include
// from .cpp files only (it silences -Wpsabi for the file, see below).
#pragma once
#include <cstdint>

namespace moalign::model::lanes {

// 16 floats, one AVX-512 register; on narrower targets the compiler splits it into 2 or 4.
using f32x16 = float __attribute__((vector_size(64)));
using i32x16 = int32_t __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

// The helpers take and return vectors: they must be inlined into each instruction set's copy of
// the loops that use them, whose register conventions for 64-byte vectors differ. (-Wpsabi warns
// of exactly that difference, which inlining makes moot.)
#define MOALIGN_LANES inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define MOALIGN_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MOALIGN_CPU_CLONES
#endif

MOALIGN_LANES f32x16 splat(float a) { return f32x16{} + a; }

// e^t as Cephes' expf: t = n ln2 + r with |r| <= ln2/2, e^r by a polynomial, 2^n written into the
// exponent bits; within 1-2 ulp. t is clamped to [-87, 88] so that 2^n stays a normal float:
// e^t bottoms out at 1.6e-38 and tops out at 1.7e38 instead of reaching 0 and inf, which is all
// its users need (GELU forms 1 + e^t and x / (1 + e^t); the softmax sums terms of which the
// largest is 1).
MOALIGN_LANES f32x16 exp_clamped(const f32x16& t_in) {
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

}  // namespace moalign::model::lanes
