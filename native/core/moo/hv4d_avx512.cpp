// The 4-D kernel for AVX-512 CPUs (the sweep itself is in hv4d_avx512_kernel.inc), built twice
// with different instruction sets, and the choice between the builds.
//  - skylake: AVX-512 F, VL, DQ and BW (Skylake-SP and later Intel server CPUs, Zen 4). DQ and BW
//    give the 8-bit mask instructions (kandb, kmovb): with F and VL alone the masks went through
//    general registers and back (-1 to -2% on the 4-D batch).
//  - icelake: that plus CD and VPOPCNTDQ (Ice Lake, Sapphire Rapids, Zen 4): the staircase's
//    insertion counts the steps it covers in the vector unit (-3% on the 4-D batch).
// Both give the same bits: they differ only in how a permutation's index is computed.
#include "hv4d_avx512.h"

#include "descending_order.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

// GCC 12 warns that the plain intrinsics' undefined pass-through operand "may be used
// uninitialized" (descending_order.cpp uses the zero-masking forms to avoid it); the warning is
// spurious: every lane of those results is written.
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define MOALIGN_HV4D_BUILD skylake
#define MOALIGN_HV4D_TARGET "avx512f,avx512vl,avx512dq,avx512bw,popcnt,bmi"
#define MOALIGN_HV4D_VECTOR_POPCOUNT 0
#include "hv4d_avx512_kernel.inc"
#undef MOALIGN_HV4D_BUILD
#undef MOALIGN_HV4D_TARGET
#undef MOALIGN_HV4D_VECTOR_POPCOUNT

#define MOALIGN_HV4D_BUILD icelake
#define MOALIGN_HV4D_TARGET "avx512f,avx512vl,avx512dq,avx512bw,avx512cd,avx512vpopcntdq,popcnt,bmi"
#define MOALIGN_HV4D_VECTOR_POPCOUNT 1
#include "hv4d_avx512_kernel.inc"
#undef MOALIGN_HV4D_BUILD
#undef MOALIGN_HV4D_TARGET
#undef MOALIGN_HV4D_VECTOR_POPCOUNT

#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace moalign::moo {

bool hv4d_avx512_skylake(const double* q, std::size_t n, double& hv) { return skylake::sweep(q, n, hv); }

bool hv4d_avx512_icelake(const double* q, std::size_t n, double& hv) { return icelake::sweep(q, n, hv); }

bool hv4d_avx512(const double* q, std::size_t n, double& hv) {
  return cpu_has_avx512_vpopcntdq() ? icelake::sweep(q, n, hv) : skylake::sweep(q, n, hv);
}

}  // namespace moalign::moo

#else

// Never called: use_hv4d_avx512() is false.
namespace moalign::moo {
bool hv4d_avx512_skylake(const double*, std::size_t, double&) { return false; }
bool hv4d_avx512_icelake(const double*, std::size_t, double&) { return false; }
bool hv4d_avx512(const double*, std::size_t, double&) { return false; }
}  // namespace moalign::moo

#endif
