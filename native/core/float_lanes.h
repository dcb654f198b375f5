// 16 float32 lanes as a GCC vector type, and the lane functions that our CPU kernels share
// (model/gelu.cpp, model/causal_attention.cpp, adapters/low_rank_kernels.cpp). A kernel written
// with them is compiled once per instruction set with MOALIGN_CPU_CLONES (AVX-512, AVX2, plain
// x86-64) and the loader picks the copy the running CPU can execute: the binary stays portable
// and runs AVX-512 where the CPU has it. 16 floats are one AVX-512 register; on narrower targets
// the compiler splits a vector into 2 or 4. Core-internal; include from .cpp files only (it
// silences -Wpsabi for the file, see below).
#pragma once
#include <cstdint>
#include <cstring>

namespace moalign::lanes {

using f32x16 = float __attribute__((vector_size(64)));
using i32x16 = int32_t __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

// The helpers take and return vectors: they must be inlined into each instruction set's copy of
// the kernels that call them, whose register conventions for 64-byte vectors differ. (-Wpsabi
// warns of exactly that difference, which inlining makes moot.)
#define MOALIGN_LANES inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define MOALIGN_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MOALIGN_CPU_CLONES
#endif

// a in every lane. In a product, write v * a instead: GCC 12 makes a broadcast operand of the
// scalar there, but builds splat(a) of a run-time a lane by lane or with an add.
MOALIGN_LANES f32x16 splat(float a) { return f32x16{} + a; }

// 16 floats from p, which need not be aligned.
MOALIGN_LANES f32x16 load_lanes(const float* p) {
  f32x16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
MOALIGN_LANES void store_lanes(float* p, const f32x16& v) { std::memcpy(p, &v, sizeof v); }

// The first n <= 16 floats from p, the other lanes `fill`; and the first n lanes of v stored to p.
// For the tail of a row: nothing past p + n is read or written.
MOALIGN_LANES f32x16 load_first(const float* p, int64_t n, float fill = 0.0f) {
  f32x16 v = splat(fill);
  std::memcpy(&v, p, static_cast<std::size_t>(n) * sizeof(float));
  return v;
}
MOALIGN_LANES void store_first(float* p, const f32x16& v, int64_t n) { std::memcpy(p, &v, static_cast<std::size_t>(n) * sizeof(float)); }

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

}  // namespace moalign::lanes
