// Exact hypervolume kernels (metrics.md §2.2). Every kernel takes `q`: n rows of m coordinates,
// row-major, shifted so that the reference point is the origin and every coordinate is > 0
// (points.h shift_to_origin). Kernels may reorder or overwrite `q`. Dominated and duplicate rows
// may be present; they change nothing. Maximisation throughout.
#pragma once
#include <cstddef>

namespace moalign::moo {

double hv1d(const double* q, std::size_t n);          // max q
double hv2d(double* q, std::size_t n);                // sort + sweep, O(n log n)
double hv3d(double* q, std::size_t n);                // sweep on q3 over a 2-D staircase, O(n log n)
double hv4d(double* q, std::size_t n);                // HV4D+: sweep on q4, 3-D exclusive contributions, O(n^2)
double hv5d(double* q, std::size_t n);                // sweep on q5, a 4-D one-contribution by HV4D+ per point, O(n^2) each
double hv_wfg(double* q, std::size_t n, std::size_t m);  // m >= 6: WFG with slicing, small-n inclusion-exclusion

// Dispatches on m.
double hv_shifted(double* q, std::size_t n, std::size_t m);

// The volume of the box [0, q] (m coordinates).
inline double box_volume(const double* q, std::size_t m) noexcept {
  double v = q[0];
  for (std::size_t i = 1; i < m; ++i) v *= q[i];
  return v;
}

}  // namespace moalign::moo
