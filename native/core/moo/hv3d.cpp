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
  thread_local std::vector<std::pair<double, std::uint32_t>> sorted;
  sorted.resize(n);
  for (std::size_t i = 0; i < n; ++i) sorted[i] = {values[i * stride], static_cast<std::uint32_t>(i)};
  std::sort(sorted.begin(), sorted.end());
  xs.clear();
  key.resize(n);
  for (const auto& [v, i] : sorted) {
    if (xs.empty() || xs.back() != v) xs.push_back(v);
    key[i] = static_cast<std::int32_t>(xs.size() - 1);
  }
}

double hv3d(double* q, std::size_t n) {
  if (n == 0) return 0;
  struct Row {
    double x, y, z;
    std::int32_t key;
  };
  // Scratch kept per thread: batches call this for many small fronts.
  thread_local std::vector<Row> rows;
  thread_local std::vector<double> xs;
  thread_local std::vector<std::int32_t> key;
  thread_local std::vector<double> column;
  column.resize(n);
  for (std::size_t i = 0; i < n; ++i) column[i] = q[3 * i];
  rank_distinct(column.data(), n, 1, xs, key);
  rows.resize(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = Row{q[3 * i], q[3 * i + 1], q[3 * i + 2], key[i]};
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.z > b.z; });

  Staircase stairs(xs);
  double hv = 0;
  for (std::size_t t = 0; t < n; ++t) {
    stairs.insert(rows[t].key, rows[t].y);
    const double z_next = t + 1 < n ? rows[t + 1].z : 0.0;
    hv += stairs.area() * (rows[t].z - z_next);
  }
  return hv;
}

}  // namespace moalign::moo
