// m = 3: sweep the points by q3 descending. A holds the area dominated in the (q1, q2) plane by
// the points seen so far, and HV = sum_j A_j (c_j - c_{j+1}) with c_j the j-th largest q3
// (c_{n+1} = 0). Each point enters the staircase once and leaves it at most once: O(n log n),
// with the log from the sort (staircase steps are O(log64 n) bit scans).
#include <algorithm>
#include <numeric>
#include <vector>

#include "hv_kernels.h"
#include "staircase.h"

namespace moalign::moo {

void rank_distinct(const double* values, std::size_t n, std::size_t stride, std::vector<double>& xs,
                   std::vector<std::int32_t>& key) {
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return values[a * stride] < values[b * stride]; });
  xs.clear();
  key.resize(n);
  for (std::uint32_t i : order) {
    const double v = values[i * stride];
    if (xs.empty() || xs.back() != v) xs.push_back(v);
    key[i] = static_cast<std::int32_t>(xs.size() - 1);
  }
}

double hv3d(double* q, std::size_t n) {
  if (n == 0) return 0;
  std::vector<std::uint32_t> by_z(n);
  std::iota(by_z.begin(), by_z.end(), 0u);
  std::sort(by_z.begin(), by_z.end(), [q](std::uint32_t a, std::uint32_t b) { return q[3 * a + 2] > q[3 * b + 2]; });
  std::vector<double> xs;
  std::vector<std::int32_t> key;
  rank_distinct(q, n, 3, xs, key);

  Staircase stairs(xs);
  double hv = 0;
  for (std::size_t t = 0; t < n; ++t) {
    const std::uint32_t i = by_z[t];
    stairs.insert(key[i], q[3 * i + 1]);
    const double z_next = t + 1 < n ? q[3 * by_z[t + 1] + 2] : 0.0;
    hv += stairs.area() * (q[3 * i + 2] - z_next);
  }
  return hv;
}

}  // namespace moalign::moo
