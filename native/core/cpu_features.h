// What the running CPU offers, for kernels compiled for an instruction set with
// __attribute__((target(...))): they are called only where the CPU has it, so one binary (built
// for plain x86-64) runs everywhere and uses AVX-512 where it can.
#pragma once

namespace moalign {

// AVX-512 Foundation; asked once per process.
inline bool cpu_has_avx512() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
#else
  return false;
#endif
}

// AVX-512 Foundation and Vector Length (the 256-bit forms of AVX-512 instructions): every
// AVX-512 CPU but the Xeon Phi has both.
inline bool cpu_has_avx512vl() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  return has;
#else
  return false;
#endif
}

// F and VL plus DQ and BW (8-bit mask instructions, byte and word lanes): Skylake-SP, Ice Lake,
// Sapphire Rapids, Zen 4 and later; hv4d_avx512.cpp is compiled for this set.
inline bool cpu_has_avx512vl_dq_bw() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = cpu_has_avx512vl() && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
  return has;
#else
  return false;
#endif
}

// cpu_has_avx512vl_dq_bw() plus CD and VPOPCNTDQ (vector popcount): Ice Lake, Sapphire Rapids,
// Zen 4 and later.
inline bool cpu_has_avx512_vpopcntdq() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = cpu_has_avx512vl_dq_bw() && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vpopcntdq");
  return has;
#else
  return false;
#endif
}

}  // namespace moalign
