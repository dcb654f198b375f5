// Non-dominated sorting in one pass for every m: points are visited so that dominators come
// first, and each point joins the first front none of whose members dominates it. That front is
// found by binary search, because "front f holds a dominator of p" is monotone in f: a member of
// front f was itself dominated by a member of front f-1 (metrics.md §1.1).
#include "pareto_ranks.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

#include "descending_order.h"

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

// The fronts the sweep still builds: 0 .. limit()-1. It starts at max_fronts (or unbounded). With
// stop_after_points it shrinks as the sweep runs, which is the early stop of metrics.md §1.3: a
// front only gains points during the sweep, and where a point goes depends only on the fronts up
// to its own, so once fronts 0..f-1 hold `stop` points the later fronts can never be kept, and
// the sweep stops building them (no binary search over them, no staircase updates). Points
// already placed beyond the final limit are cleared by apply_stop_rule.
class FrontLimit {
 public:
  FrontLimit(std::size_t max_fronts, std::size_t stop) : limit_(max_fronts > 0 ? max_fronts : SIZE_MAX), stop_(stop) {}
  std::size_t limit() const noexcept { return limit_; }
  // A point joined front f (< limit()).
  void placed(std::size_t f) {
    if (stop_ == 0) return;
    if (f >= size_.size()) size_.resize(f + 1, 0);
    ++size_[f];
    if (++within_ < stop_) return;
    limit_ = std::min(limit_, size_.size());
    while (limit_ > 1 && within_ - size_[limit_ - 1] >= stop_) within_ -= size_[--limit_];
  }

 private:
  std::size_t limit_;
  std::size_t stop_;
  std::size_t within_ = 0;          // points in fronts 0 .. limit_-1
  std::vector<std::size_t> size_;   // points per front
};

// The rows of x (n x m) in descending lexicographic order. The first coordinate decides almost
// always: descending_order sorts by it without data-dependent branches (std::sort's
// mispredictions were half of the 3-D sort at 320,000 points), and only runs of equal first
// coordinates are sorted by the rest.
template <typename Row>
std::vector<Row> lexicographic_desc(const double* x, std::size_t n, std::size_t m, Row (*make)(const double*, std::uint32_t)) {
  std::vector<std::uint32_t> order;
  descending_order(x, n, m, order);
  std::vector<Row> rows(n);
  for (std::size_t t = 0; t < n; ++t) rows[t] = make(x + m * order[t], order[t]);
  for (std::size_t lo = 0, hi; lo < n; lo = hi) {
    for (hi = lo + 1; hi < n && rows[hi].x == rows[lo].x;) ++hi;
    if (hi - lo > 1) std::sort(rows.begin() + static_cast<std::ptrdiff_t>(lo), rows.begin() + static_cast<std::ptrdiff_t>(hi), Row::after_x);
  }
  return rows;
}

// m = 2 (metrics.md §1.2): visited by (x desc, y desc); within a front the last point placed has
// the largest y, so it alone decides whether the front holds a dominator.
void ranks_2d(const double* x, std::size_t n, FrontLimit& cap, std::vector<std::int32_t>& rank) {
  struct XY {
    double x, y;
    std::uint32_t index;
    static bool after_x(const XY& a, const XY& b) { return a.y > b.y; }
  };
  const std::vector<XY> pts = lexicographic_desc<XY>(x, n, 2, [](const double* r, std::uint32_t i) { return XY{r[0], r[1], i}; });
  std::vector<double> last_x, last_y;
  for (const XY& p : pts) {
    const std::size_t limit = cap.limit();
    const std::size_t f = first_open_front(std::min(last_y.size(), limit), [&](std::size_t k) {
      return last_y[k] > p.y || (last_y[k] == p.y && last_x[k] > p.x);
    });
    if (f == limit) continue;  // beyond the fronts asked for: stays 0
    if (f == last_y.size()) {
      last_x.push_back(p.x);
      last_y.push_back(p.y);
    } else {
      last_x[f] = p.x;
      last_y[f] = p.y;
    }
    rank[p.index] = static_cast<std::int32_t>(f + 1);
    cap.placed(f);
  }
}

// m = 3: visited by (x desc, y desc, z desc), so every earlier point has x >= the current one's.
// Each front keeps the staircase of its members' (y, z): y ascending, z strictly descending.
// A front holds a dominator of p iff its first entry with y >= p.y has z >= p.z (identical
// points are adjacent in this order and simply share the previous point's rank).
struct XYZ {
  double x, y, z;
  std::uint32_t index;
  static bool after_x(const XYZ& a, const XYZ& b) { return a.y > b.y || (a.y == b.y && a.z > b.z); }
};

// The length of the prefix of the ascending v[0..len) whose entries are below y: a binary search
// that selects by masking, so its only branch is the length-driven loop (the probes come in
// random order, where std::lower_bound mispredicted about every other step).
std::size_t count_below_sorted(const double* v, std::size_t len, double y) {
  if (len == 0) return 0;
  std::size_t at = 0;
  for (; len > 1;) {
    const std::size_t half = len / 2;
    at += half & (std::size_t{0} - static_cast<std::size_t>(v[at + half - 1] < y));
    len -= half;
  }
  return at + static_cast<std::size_t>(v[at] < y);
}

// A front's staircase: y ascending, z strictly descending. Searches over y go through a summary
// holding the last y of every block of kBlock entries, then count within one block: two short,
// cache-friendly passes instead of a long chain of dependent loads (the sort's hot spot).
class FrontStairs {
 public:
  // The first and last entries, kept together for all fronts so that the binary search over
  // fronts mostly reads one cache line per front.
  struct Ends {
    double first_y, first_z, last_y, last_z;
    // Does an entry weakly dominate (y, z)? false / true / unknown (-1) from the ends alone.
    int covers(double y, double z) const {
      if (y > last_y || z > first_z) return 0;
      if (z <= last_z || y <= first_y) return 1;  // the last entry has the largest y, the first the largest z
      return -1;
    }
  };
  Ends ends() const { return {y_.front(), z_.front(), y_.back(), z_.back()}; }
  // covers(), once the ends could not tell.
  bool covers_inner(double y, double z) const { return z_[first_at_or_above(y)] >= z; }
  // Adds (y, z), which no entry covers; drops the entries it weakly dominates (they sit just left
  // of the first entry with y >= p.y, plus that entry when its y equals p.y).
  void add(double y, double z) {
    std::size_t right = first_at_or_above(y);
    if (right < y_.size() && y_[right] == y) ++right;
    std::size_t left = right;
    while (left > 0 && z_[left - 1] <= z) --left;
    if (left == right) {
      y_.insert(y_.begin() + right, y);
      z_.insert(z_.begin() + right, z);
    } else {
      y_[left] = y;
      z_[left] = z;
      y_.erase(y_.begin() + left + 1, y_.begin() + right);
      z_.erase(z_.begin() + left + 1, z_.begin() + right);
    }
    // Blocks before `left` are unchanged.
    summary_.resize(y_.size() / kBlock);
    for (std::size_t k = left / kBlock; k < summary_.size(); ++k) summary_[k] = y_[k * kBlock + kBlock - 1];
  }

 private:
  static constexpr std::size_t kBlock = 8;

  // How many of v[0..len) are below y; a full block has a fixed trip count and vectorises.
  static std::size_t count_below(const double* v, std::size_t len, double y) {
    std::size_t c = 0;
    if (len == kBlock) {
      for (std::size_t i = 0; i < kBlock; ++i) c += v[i] < y;
    } else {
      for (std::size_t i = 0; i < len; ++i) c += v[i] < y;
    }
    return c;
  }

  // Index of the first y_ >= y (size() if none).
  std::size_t first_at_or_above(double y) const {
    const std::size_t block = count_below_sorted(summary_.data(), summary_.size(), y);
    const std::size_t begin = block * kBlock;
    return begin + count_below(y_.data() + begin, std::min(kBlock, y_.size() - begin), y);
  }

  std::vector<double> y_, z_;
  std::vector<double> summary_;  // summary_[k] = y_[k * kBlock + kBlock - 1]
};

void ranks_3d(const double* x, std::size_t n, FrontLimit& cap, std::vector<std::int32_t>& rank) {
  const std::vector<XYZ> pts = lexicographic_desc<XYZ>(x, n, 3, [](const double* r, std::uint32_t i) { return XYZ{r[0], r[1], r[2], i}; });
  std::vector<FrontStairs> fronts;
  std::vector<FrontStairs::Ends> ends;
  for (std::size_t t = 0; t < n; ++t) {
    const XYZ& p = pts[t];
    if (t > 0 && pts[t - 1].x == p.x && pts[t - 1].y == p.y && pts[t - 1].z == p.z) {
      const std::int32_t r = rank[p.index] = rank[pts[t - 1].index];
      if (r > 0 && static_cast<std::size_t>(r) <= cap.limit()) cap.placed(static_cast<std::size_t>(r - 1));
      continue;
    }
    const std::size_t limit = cap.limit();
    const std::size_t f = first_open_front(std::min(fronts.size(), limit), [&](std::size_t k) {
      const int quick = ends[k].covers(p.y, p.z);
      return quick >= 0 ? quick == 1 : fronts[k].covers_inner(p.y, p.z);
    });
    if (f == limit) continue;
    if (f == fronts.size()) {
      fronts.emplace_back();
      ends.emplace_back();
    }
    fronts[f].add(p.y, p.z);
    ends[f] = fronts[f].ends();
    rank[p.index] = static_cast<std::int32_t>(f + 1);
    cap.placed(f);
  }
}

// m >= 4: dominators first; a front blocks p when one of its members weakly dominates p.
void ranks_nd(const double* x, std::size_t n, std::size_t m, FrontLimit& cap, std::vector<std::int32_t>& rank) {
  const std::vector<std::uint32_t> order = dominators_first(x, n, m);
  std::vector<std::vector<std::uint32_t>> fronts;
  const double* prev = nullptr;
  for (std::uint32_t i : order) {
    const double* p = x + m * i;
    if (prev && rows_equal(prev, p, m)) {
      const std::int32_t r = rank[i] = rank[(prev - x) / m];
      if (r > 0 && static_cast<std::size_t>(r) <= cap.limit()) cap.placed(static_cast<std::size_t>(r - 1));
      continue;
    }
    prev = p;
    const std::size_t limit = cap.limit();
    const std::size_t f = first_open_front(std::min(fronts.size(), limit), [&](std::size_t k) {
      for (std::uint32_t j : fronts[k]) {
        const double* a = x + m * j;
        bool weakly = true;
        for (std::size_t c = 0; c < m && weakly; ++c) weakly = a[c] >= p[c];
        if (weakly) return true;
      }
      return false;
    });
    if (f == limit) continue;
    if (f == fronts.size()) fronts.emplace_back();
    fronts[f].push_back(i);
    rank[i] = static_cast<std::int32_t>(f + 1);
    cap.placed(f);
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
  // Fronts beyond max_fronts, or beyond the one that reaches stop_after_points, stop being built
  // while the sweep runs: their points stay 0 (paretoFront is one sweep).
  FrontLimit cap(opts.max_fronts, opts.stop_after_points);
  switch (p.m) {
    case 1: ranks_1d(x.data(), p.n, rank); break;
    case 2: ranks_2d(x.data(), p.n, cap, rank); break;
    case 3: ranks_3d(x.data(), p.n, cap, rank); break;
    default: ranks_nd(x.data(), p.n, p.m, cap, rank); break;
  }
  apply_stop_rule(rank, opts);
  return rank;
}

}  // namespace moalign::moo
