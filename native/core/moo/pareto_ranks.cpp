// Non-dominated sorting in one pass for every m: points are visited so that dominators come
// first, and each point joins the first front none of whose members dominates it. That front is
// found by binary search, because "front f holds a dominator of p" is monotone in f: a member of
// front f was itself dominated by a member of front f-1 (metrics.md §1.1).
#include "pareto_ranks.h"

#include <algorithm>
#include <numeric>

namespace moalign::moo {

namespace {

bool rows_equal(const double* a, const double* b, std::size_t m) {
  for (std::size_t i = 0; i < m; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// First f in [0, fronts) with !blocked(f), or `fronts` when every front blocks.
template <typename Blocked>
std::size_t first_open_front(std::size_t fronts, Blocked blocked) {
  std::size_t lo = 0, hi = fronts;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (blocked(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// m = 2 (metrics.md §1.2): visited by (x desc, y desc); within a front the last point placed has
// the largest y, so it alone decides whether the front holds a dominator.
void ranks_2d(const double* x, std::size_t n, std::vector<std::int32_t>& rank) {
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [x](std::uint32_t a, std::uint32_t b) {
    return x[2 * a] > x[2 * b] || (x[2 * a] == x[2 * b] && x[2 * a + 1] > x[2 * b + 1]);
  });
  std::vector<double> last_x, last_y;
  for (std::uint32_t i : order) {
    const double px = x[2 * i], py = x[2 * i + 1];
    const std::size_t f = first_open_front(last_y.size(), [&](std::size_t k) {
      return last_y[k] > py || (last_y[k] == py && last_x[k] > px);
    });
    if (f == last_y.size()) {
      last_x.push_back(px);
      last_y.push_back(py);
    } else {
      last_x[f] = px;
      last_y[f] = py;
    }
    rank[i] = static_cast<std::int32_t>(f + 1);
  }
}

// m = 3: visited by (x desc, y desc, z desc), so every earlier point has x >= the current one's.
// Each front keeps the staircase of its members' (y, z): y ascending, z strictly descending.
// A front holds a dominator of p iff its first entry with y >= p.y has z >= p.z (identical
// points are adjacent in this order and simply share the previous point's rank).
struct YZ {
  double y, z;
};

void ranks_3d(const double* x, std::size_t n, std::vector<std::int32_t>& rank) {
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [x](std::uint32_t a, std::uint32_t b) {
    const double* p = x + 3 * a;
    const double* q = x + 3 * b;
    return p[0] > q[0] || (p[0] == q[0] && (p[1] > q[1] || (p[1] == q[1] && p[2] > q[2])));
  });
  std::vector<std::vector<YZ>> stairs;
  const auto first_at_or_above = [](std::vector<YZ>& s, double y) {
    return std::lower_bound(s.begin(), s.end(), y, [](const YZ& e, double v) { return e.y < v; });
  };
  const double* prev = nullptr;
  for (std::uint32_t i : order) {
    const double* p = x + 3 * i;
    if (prev && rows_equal(prev, p, 3)) {
      rank[i] = rank[(prev - x) / 3];
      continue;
    }
    prev = p;
    const std::size_t f = first_open_front(stairs.size(), [&](std::size_t k) {
      auto it = first_at_or_above(stairs[k], p[1]);
      return it != stairs[k].end() && it->z >= p[2];
    });
    if (f == stairs.size()) stairs.emplace_back();
    std::vector<YZ>& s = stairs[f];
    // Entries with y <= p.y and z <= p.z are now dominated in the (y, z) plane: they sit just
    // left of the first entry with y >= p.y (plus that entry itself when its y equals p.y).
    auto right = first_at_or_above(s, p[1]);
    if (right != s.end() && right->y == p[1]) ++right;  // its z < p.z, or p would be dominated
    auto left = right;
    while (left != s.begin() && std::prev(left)->z <= p[2]) --left;
    if (left == right) s.insert(right, YZ{p[1], p[2]});
    else {
      *left = YZ{p[1], p[2]};
      s.erase(left + 1, right);
    }
    rank[i] = static_cast<std::int32_t>(f + 1);
  }
}

// m >= 4: dominators first; a front blocks p when one of its members weakly dominates p.
void ranks_nd(const double* x, std::size_t n, std::size_t m, std::vector<std::int32_t>& rank) {
  const std::vector<std::uint32_t> order = dominators_first(x, n, m);
  std::vector<std::vector<std::uint32_t>> fronts;
  const double* prev = nullptr;
  for (std::uint32_t i : order) {
    const double* p = x + m * i;
    if (prev && rows_equal(prev, p, m)) {
      rank[i] = rank[(prev - x) / m];
      continue;
    }
    prev = p;
    const std::size_t f = first_open_front(fronts.size(), [&](std::size_t k) {
      for (std::uint32_t j : fronts[k]) {
        const double* a = x + m * j;
        bool weakly = true;
        for (std::size_t c = 0; c < m && weakly; ++c) weakly = a[c] >= p[c];
        if (weakly) return true;
      }
      return false;
    });
    if (f == fronts.size()) fronts.emplace_back();
    fronts[f].push_back(i);
    rank[i] = static_cast<std::int32_t>(f + 1);
  }
}

void ranks_1d(const double* x, std::size_t n, std::vector<std::int32_t>& rank) {
  std::vector<double> distinct(x, x + n);
  std::sort(distinct.begin(), distinct.end(), std::greater<>());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (std::size_t i = 0; i < n; ++i) {
    const auto it = std::lower_bound(distinct.begin(), distinct.end(), x[i], std::greater<>());
    rank[i] = static_cast<std::int32_t>(it - distinct.begin() + 1);
  }
}

// Keeps fronts 1..F, where F is the first front at which `stop_after_points` points are ranked
// (or max_fronts, whichever is smaller); later ranks become 0.
void apply_stop_rule(std::vector<std::int32_t>& rank, const RankOptions& opts) {
  if (opts.stop_after_points == 0 && opts.max_fronts == 0) return;
  std::int32_t fronts = 0;
  for (std::int32_t r : rank) fronts = std::max(fronts, r);
  std::vector<std::size_t> size(static_cast<std::size_t>(fronts) + 1, 0);
  for (std::int32_t r : rank) ++size[r];
  std::size_t keep = static_cast<std::size_t>(fronts), ranked = 0;
  if (opts.max_fronts > 0) keep = std::min(keep, opts.max_fronts);
  if (opts.stop_after_points > 0) {
    for (std::size_t f = 1; f <= keep; ++f) {
      ranked += size[f];
      if (ranked >= opts.stop_after_points) {
        keep = f;
        break;
      }
    }
  }
  for (std::int32_t& r : rank)
    if (static_cast<std::size_t>(r) > keep) r = 0;
}

}  // namespace

std::vector<std::uint32_t> dominators_first(const double* rows, std::size_t n, std::size_t m) {
  std::vector<double> sum(n, 0.0);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i) sum[j] += rows[j * m + i];
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (sum[a] != sum[b]) return sum[a] > sum[b];
    return std::lexicographical_compare(rows + b * m, rows + b * m + m, rows + a * m, rows + a * m + m);
  });
  return order;
}

std::vector<std::int32_t> pareto_ranks(Points p, const MinimiseMask& mask, const RankOptions& opts) {
  check_points(p, "points");
  check_mask(mask, p.m);
  std::vector<std::int32_t> rank(p.n, 0);
  if (p.n == 0) return rank;
  const std::vector<double> x = to_maximisation(p, mask);
  switch (p.m) {
    case 1: ranks_1d(x.data(), p.n, rank); break;
    case 2: ranks_2d(x.data(), p.n, rank); break;
    case 3: ranks_3d(x.data(), p.n, rank); break;
    default: ranks_nd(x.data(), p.n, p.m, rank); break;
  }
  apply_stop_rule(rank, opts);
  return rank;
}

}  // namespace moalign::moo
