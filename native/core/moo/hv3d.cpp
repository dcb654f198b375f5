// m = 3: sweep the points by q3 descending. A holds the area dominated in the (q1, q2) plane by
// the points seen so far, and HV = sum_j A_j (c_j - c_{j+1}) with c_j the j-th largest q3
// (c_{n+1} = 0). Each point enters the staircase once and leaves it at most once: O(n log n),
// with the log from the sort (staircase steps are O(log64 n) bit scans). Small fronts keep the
// staircase in flat arrays instead (FlatStaircase): the choice depends on n alone, and both
// staircases give the same areas.
#include <algorithm>
#include <numeric>
#include <vector>

#include "descending_order.h"
#include "hv_kernels.h"
#include "staircase.h"

namespace moalign::moo {

namespace {

// Up to this many points the flat staircase is faster (its insertions cost O(steps)).
constexpr std::size_t kFlatMax = 256;

// The sweep over rows q[order[t]], given a function that inserts a row (by position in q) and
// returns the staircase's area.
template <typename Insert>
double sweep(const double* q, const std::vector<std::uint32_t>& order, Insert insert_row) {
  const std::size_t n = order.size();
  double hv = 0;
  for (std::size_t t = 0; t < n; ++t) {
    const double area = insert_row(order[t]);
    const double z_next = t + 1 < n ? q[3 * order[t + 1] + 2] : 0.0;
    hv += area * (q[3 * order[t] + 2] - z_next);
  }
  return hv;
}

}  // namespace

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
  // Scratch kept per thread: batches call this for many small fronts.
  thread_local std::vector<std::uint32_t> order;
  descending_order(q + 2, n, 3, order);
  if (n <= kFlatMax) {
    thread_local FlatStaircase flat;
    flat.clear(n);
    return sweep(q, order, [&](std::uint32_t i) {
      flat.insert(q[3 * i], q[3 * i + 1]);
      return flat.area();
    });
  }
  thread_local std::vector<double> xs;
  thread_local std::vector<std::int32_t> key;
  rank_distinct(q, n, 3, xs, key);
  Staircase stairs(xs);
  return sweep(q, order, [&](std::uint32_t i) {
    stairs.insert(key[i], q[3 * i + 1]);
    return stairs.area();
  });
}

}  // namespace moalign::moo
