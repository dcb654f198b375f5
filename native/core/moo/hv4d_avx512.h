// The 4-D kernel for CPUs with AVX-512 F, VL, DQ and BW (hv4d_avx512_kernel.inc, built by
// hv4d_avx512.cpp), which hv4d uses for up to kHv4dAvx512MaxPoints points; elsewhere, and for
// larger fronts, HV4D+ (hv4d_plus.h).
#pragma once
#include <cstddef>

#include "core/cpu_features.h"

namespace moalign::moo {

// Up to here the kernel is faster on fronts (≈2.5× at 100 and at 1,000 points). Its pass over
// the seen points per point is O(n) vector work whatever the set, so larger sets keep HV4D+.
inline constexpr std::size_t kHv4dAvx512MaxPoints = 1024;

inline bool use_hv4d_avx512(std::size_t n) { return n <= kHv4dAvx512MaxPoints && cpu_has_avx512vl_dq_bw(); }

// The 4-D hypervolume of n rows (shifted maximisation, every coordinate > 0; hv_kernels.h) into
// `hv`; false when the kernel gave up on the set (its work budget, see hv4d_avx512_kernel.inc),
// and then HV4D+ must compute it. Only where use_hv4d_avx512(n).
bool hv4d_avx512(const double* q, std::size_t n, double& hv);

// The kernel's two builds, which hv4d_avx512 chooses between (hv4d_avx512.cpp); for tests. The
// first needs cpu_has_avx512vl_dq_bw(), the second cpu_has_avx512_vpopcntdq().
bool hv4d_avx512_skylake(const double* q, std::size_t n, double& hv);
bool hv4d_avx512_icelake(const double* q, std::size_t n, double& hv);

}  // namespace moalign::moo
