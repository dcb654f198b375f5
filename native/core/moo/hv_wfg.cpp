// m >= 6: WFG (While, Bradstreet, Barone 2012) with slicing. With the rows sorted by the last
// coordinate ascending, HV = sum_k excl(Q[k] | Q[k+1..]), and every point of Q[k]'s limit set
// {min(Q[k], Q[j]) : j > k} has the last coordinate of Q[k], which factors out:
//   excl = Q[k].m * (box_{m-1}(Q[k]) - HV_{m-1}(nondominated(limit set)))
// The recursion bottoms out in the 5-D sweep (hv5d.cpp); tiny sets use inclusion-exclusion.
#include <algorithm>
#include <numeric>
#include <vector>

#include "hv_kernels.h"
#include "pareto_ranks.h"

namespace moalign::moo {

namespace {

// Below this many rows, inclusion-exclusion (2^n terms) beats the recursion's set-up.
constexpr std::size_t kInclusionExclusionMaxRows = 4;

// sum over non-empty subsets T of (-1)^{|T|+1} box(min over T), depth-first with running minima.
double inclusion_exclusion(const double* q, std::size_t n, std::size_t m, std::size_t from, const double* mins,
                           int sign, std::vector<double>& stack) {
  double total = 0;
  const std::size_t base = stack.size();
  stack.resize(base + m);
  for (std::size_t j = from; j < n; ++j) {
    double* cur = stack.data() + base;
    const double* r = q + j * m;
    for (std::size_t i = 0; i < m; ++i) cur[i] = mins ? std::min(mins[i], r[i]) : r[i];
    total += sign * box_volume(cur, m);
    total += inclusion_exclusion(q, n, m, j + 1, stack.data() + base, -sign, stack);
  }
  stack.resize(base);
  return total;
}

// Keeps the rows of `t` (n x m) that no other row weakly dominates (one of each duplicate).
std::size_t keep_nondominated(std::vector<double>& t, std::size_t n, std::size_t m) {
  std::vector<std::uint32_t> order = dominators_first(t.data(), n, m);
  std::vector<double> kept;
  kept.reserve(n * m);
  std::size_t count = 0;
  for (std::uint32_t j : order) {
    const double* r = t.data() + j * m;
    bool dominated = false;
    for (std::size_t c = 0; c < count && !dominated; ++c) {
      const double* a = kept.data() + c * m;
      bool weakly = true;
      for (std::size_t i = 0; i < m && weakly; ++i) weakly = a[i] >= r[i];
      dominated = weakly;
    }
    if (!dominated) {
      kept.insert(kept.end(), r, r + m);
      ++count;
    }
  }
  t.swap(kept);
  return count;
}

}  // namespace

double hv_wfg(double* q, std::size_t n, std::size_t m) {
  if (n == 0) return 0;
  if (m <= 5) return hv_shifted(q, n, m);
  if (n == 1) return box_volume(q, m);
  if (n <= kInclusionExclusionMaxRows) {
    std::vector<double> stack;
    stack.reserve((n + 1) * m);  // running minima, one row per depth: never reallocated mid-recursion
    return inclusion_exclusion(q, n, m, 0, nullptr, 1, stack);
  }
  // Rows sorted by the last coordinate, ascending.
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return q[a * m + m - 1] < q[b * m + m - 1]; });
  std::vector<double> sorted(n * m);
  for (std::size_t k = 0; k < n; ++k) std::copy_n(q + order[k] * m, m, sorted.data() + k * m);

  const std::size_t d = m - 1;  // the limit sets' dimension
  double total = 0;
  std::vector<double> limit;
  for (std::size_t k = 0; k < n; ++k) {
    const double* a = sorted.data() + k * m;
    limit.clear();
    bool covered = false;  // a later row weakly dominates a in the first d coordinates
    for (std::size_t j = k + 1; j < n && !covered; ++j) {
      const double* b = sorted.data() + j * m;
      bool b_covers = true;
      for (std::size_t i = 0; i < d; ++i) {
        const double v = std::min(a[i], b[i]);
        b_covers &= b[i] >= a[i];
        limit.push_back(v);
      }
      covered = b_covers;
    }
    if (covered) continue;  // nothing of a's slab is exclusive
    // Filtering first pays for itself even at d = 5: hv5d sorts and sweeps every row it is given.
    const double limit_hv = hv_shifted(limit.data(), keep_nondominated(limit, limit.size() / d, d), d);
    total += a[m - 1] * (box_volume(a, d) - limit_hv);
  }
  return total;
}

double hv_shifted(double* q, std::size_t n, std::size_t m) {
  switch (m) {
    case 1: return hv1d(q, n);
    case 2: return hv2d(q, n);
    case 3: return hv3d(q, n);
    case 4: return hv4d(q, n);
    case 5: return hv5d(q, n);
    default: return hv_wfg(q, n, m);
  }
}

}  // namespace moalign::moo
