// m = 4: sweep the points by q4 descending, keeping V, the 3-D volume dominated by the (q1, q2, q3)
// projections seen so far: HV = sum_j V_j (c_j - c_{j+1}), c_j the j-th largest q4. Each new
// point p adds its exclusive 3-D contribution, found by a second sweep down q3 over the seen
// points (kept 3-D non-dominated, sorted by q3 descending): the part of p's base rectangle
// [0, p1] x [0, p2] not yet covered shrinks as points join, and the sweep stops as soon as one
// point covers all of it. O(n) per point (O(log64 n) staircase steps), O(n^2) in all.
#include <algorithm>
#include <numeric>
#include <vector>

#include "hv_kernels.h"
#include "staircase.h"

namespace moalign::moo {

namespace {

struct Sweep4d {
  const double* q;
  std::vector<std::int32_t> key;   // rank of each row's q1 in xs
  std::vector<double> xs;          // distinct q1 values, ascending
  std::vector<std::uint32_t> seen;  // rows, q3 descending, mutually 3-D non-dominated
  std::vector<std::uint32_t> next_seen;
  Staircase region;

  Sweep4d(const double* rows, std::size_t n) : q(rows), xs(ranked_q1(rows, n, key)), region(xs) {
    seen.reserve(n);
    next_seen.reserve(n);
  }

  static std::vector<double> ranked_q1(const double* rows, std::size_t n, std::vector<std::int32_t>& key) {
    std::vector<double> xs;
    rank_distinct(rows, n, 4, xs, key);
    return xs;
  }

  const double* row(std::uint32_t i) const { return q + 4 * std::size_t{i}; }

  // p's exclusive 3-D contribution with respect to `seen`, or -1 when a seen point weakly dominates it.
  double exclusive_3d(std::uint32_t ip) {
    const double* p = row(ip);
    const double full = p[0] * p[1];
    const std::int32_t kp = key[ip];
    region.clear();
    std::size_t pos = 0;
    // Points at or above p's q3 cover their (clipped) rectangle at every level of p's box.
    for (; pos < seen.size(); ++pos) {
      const double* s = row(seen[pos]);
      if (s[2] < p[2]) break;
      if (s[0] >= p[0] && s[1] >= p[1]) return -1;
      region.insert(std::min(key[seen[pos]], kp), std::min(s[1], p[1]));
    }
    double volume = 0, last_z = p[2];
    for (; pos < seen.size(); ++pos) {
      const double* s = row(seen[pos]);
      volume += (full - region.area()) * (last_z - s[2]);
      last_z = s[2];
      if (s[0] >= p[0] && s[1] >= p[1]) return volume;  // covers the rest of p's box below s[2]
      region.insert(std::min(key[seen[pos]], kp), std::min(s[1], p[1]));
    }
    return volume + (full - region.area()) * last_z;
  }

  // Adds p to `seen`, dropping the points whose projection it weakly dominates.
  void add(std::uint32_t ip) {
    const double* p = row(ip);
    next_seen.clear();
    bool placed = false;
    for (std::uint32_t is : seen) {
      const double* s = row(is);
      if (!placed && s[2] <= p[2]) {
        next_seen.push_back(ip);
        placed = true;
      }
      if (!(s[0] <= p[0] && s[1] <= p[1] && s[2] <= p[2])) next_seen.push_back(is);
    }
    if (!placed) next_seen.push_back(ip);
    seen.swap(next_seen);
  }
};

}  // namespace

double hv4d(double* q, std::size_t n) {
  if (n == 0) return 0;
  std::vector<std::uint32_t> by_w(n);
  std::iota(by_w.begin(), by_w.end(), 0u);
  std::sort(by_w.begin(), by_w.end(), [q](std::uint32_t a, std::uint32_t b) { return q[4 * a + 3] > q[4 * b + 3]; });
  Sweep4d sweep(q, n);
  double volume = 0, hv = 0;
  for (std::size_t t = 0; t < n; ++t) {
    const std::uint32_t i = by_w[t];
    const double c = sweep.exclusive_3d(i);
    if (c >= 0) {
      volume += c;
      sweep.add(i);
    }
    const double w_next = t + 1 < n ? q[4 * by_w[t + 1] + 3] : 0.0;
    hv += volume * (q[4 * i + 3] - w_next);
  }
  return hv;
}

}  // namespace moalign::moo
