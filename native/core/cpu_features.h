// What the running CPU offers, for kernels compiled for an instruction set with
// __attribute__((target(...))): they are called only where the CPU has it, so one binary (built
// for plain x86-64) runs everywhere and uses AVX-512 where it can. Each is asked once per process.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MOALIGN_CPU_SUPPORTS(feature) __builtin_cpu_supports(feature)
#else
#define MOALIGN_CPU_SUPPORTS(feature) false
#endif

namespace moalign {

// AVX-512 Foundation.
inline bool cpu_has_avx512() {
  static const bool has = MOALIGN_CPU_SUPPORTS("avx512f");
  return has;
}

// AVX-512 Foundation and Vector Length (the 256-bit forms of AVX-512 instructions): every
// AVX-512 CPU but the Xeon Phi has both.
inline bool cpu_has_avx512vl() {
  static const bool has = cpu_has_avx512() && MOALIGN_CPU_SUPPORTS("avx512vl");
  return has;
}

// F and VL plus DQ and BW (8-bit mask instructions, byte and word lanes): Skylake-SP, Ice Lake,
// Sapphire Rapids, Zen 4 and later; the 4-D kernel's first build (hv4d_avx512.cpp) needs them.
inline bool cpu_has_avx512vl_dq_bw() {
  static const bool has = cpu_has_avx512vl() && MOALIGN_CPU_SUPPORTS("avx512dq") && MOALIGN_CPU_SUPPORTS("avx512bw");
  return has;
}

// cpu_has_avx512vl_dq_bw() plus CD and VPOPCNTDQ (vector popcount): Ice Lake, Sapphire Rapids,
// Zen 4 and later; the 4-D kernel's second build.
inline bool cpu_has_avx512_vpopcntdq() {
  static const bool has = cpu_has_avx512vl_dq_bw() && MOALIGN_CPU_SUPPORTS("avx512cd") && MOALIGN_CPU_SUPPORTS("avx512vpopcntdq");
  return has;
}

}  // namespace moalign
