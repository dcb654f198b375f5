// m = 3: sweep the points by q3 descending. A holds the area dominated in the (q1, q2) plane by
// the points seen so far, and HV = sum_j A_j (c_j - c_{j+1}) with c_j the j-th largest q3
// (c_{n+1} = 0). Each point enters the staircase once and leaves it at most once: O(n log n),
// with the log from the sort (staircase steps are O(log64 n) bit scans). Fronts of up to 254
// points keep the staircase in a few words of bits instead (BitStaircase): the choice depends on
// n alone, and both staircases give the same areas.
#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "descending_order.h"
#include "hv_kernels.h"
#include "staircase.h"

namespace moalign::moo {

namespace {

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

// Scratch kept per thread: batches call this for many small fronts. Reached through a call
// that is not inlined: in the addon, a shared library, the address of a thread_local comes from
// a __tls_get_addr call, which GCC re-issues inside the sweep rather than keep the address in a
// register (1 of 4.2 us a 100-point front).
struct Scratch {
  std::vector<std::uint32_t> order, by_x, key;
  std::vector<double> xs;
  std::vector<std::int32_t> tree_key;
  BitStaircase bits;
};

[[gnu::noinline]] Scratch& per_thread_scratch() {
  thread_local Scratch s;
  return s;
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
  Scratch& s = per_thread_scratch();
  descending_order(q + 2, n, 3, s.order);
  if (n <= BitStaircase::kMaxPoints) {
    // Keys: x ranks among the distinct x values, from 1 (the order's ties are one key).
    descending_order(q, n, 3, s.by_x);
    s.key.resize(n);
    s.xs.resize(n + 2);
    s.xs[0] = 0.0;
    std::size_t k = 0;
    double last = 0.0;  // every x is > 0
    for (std::size_t t = n; t-- > 0;) {
      const double x = q[3 * s.by_x[t]];
      k += x != last;
      s.xs[k] = last = x;
      s.key[s.by_x[t]] = static_cast<std::uint32_t>(k);
    }
    s.xs[k + 1] = std::numeric_limits<double>::infinity();
    s.bits.clear(s.xs.data(), k + 1);
    return sweep(q, s.order, [&](std::uint32_t i) {
      s.bits.insert(s.key[i], q[3 * i + 1]);
      return s.bits.area();
    });
  }
  rank_distinct(q, n, 3, s.xs, s.tree_key);
  Staircase stairs(s.xs);
  return sweep(q, s.order, [&](std::uint32_t i) {
    stairs.insert(s.tree_key[i], q[3 * i + 1]);
    return stairs.area();
  });
}

}  // namespace moalign::moo
