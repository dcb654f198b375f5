// m = 5: a sweep along the 5th coordinate whose steps are 4-D one-contribution problems (the
// dimension sweep of Fonseca, Paquete & López-Ibáñez 2006 down to 4-D, as in moocore's hv.c, with
// HV4D+ one-contributions after Guerreiro & Fonseca 2018). The points enter by q5 descending;
// with V_k the 4-D volume of the (q1..q4) projections of the first k, HV = sum_k V_k (q5_k - q5_{k+1}).
// V grows by each new point p's exclusive 4-D contribution against the seen points S:
//   excl4(p) = integral over w in (0, p4] of [box3(p) - HV3({min(p, s) : s in S, s4 >= w})] dw,
// an HV4D+ sweep (hv4d_plus.h) down w over the clipped points min(p, s): the seen points with
// s4 >= p4 all clip to p4 and form its base, the others join one by one in s4 descending order.
// It is the same sum as WFG's (hv_wfg.cpp, the limit set of p is the clipped points), but:
//  - nothing is sorted per point: S is kept in two orders fixed once, by q3 and by q4, as bitsets
//    over the ranks. Clipping keeps the q3 order, except that every s with s3 >= p3 clips to p3:
//    that lowest level of the base may come in any order (Sweep::add_lowest). Only runs of equal
//    q3 above it (ties in the data) are sorted, into the (q2, q1) order HV4D+'s z-list needs;
//  - the walk down w stops at the first s that dominates p in (q1, q2, q3): below s4, p adds nothing;
//  - a point dominated in (q1..q4) by a seen point adds nothing now or to any later clipped set, so
//    it never joins S; a seen point that p so dominates leaves S when p joins.
// Below, as in hv4d_plus.h, coordinates are negated (smaller is better) and x y z w are q1..q4.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <numeric>
#include <optional>
#include <vector>

#include "hv4d_plus.h"
#include "hv_kernels.h"

namespace moalign::moo {

namespace {

using hv4dplus::Node;

struct Point {
  double x, y, z, w;
};

// A set of ranks 0..n-1 (a bit each): the seen points in one fixed order.
class RankSet {
 public:
  void reset(std::size_t n) { words_.assign((n + 63) / 64, 0); }
  void insert(std::size_t r) { words_[r / 64] |= std::uint64_t{1} << (r % 64); }
  void erase(std::size_t r) { words_[r / 64] &= ~(std::uint64_t{1} << (r % 64)); }

  // Calls f(rank) for the ranks >= from, ascending, until f returns false.
  template <typename F>
  void for_each_from(std::size_t from, F&& f) const {
    for (std::size_t word = from / 64; word < words_.size(); ++word) {
      std::uint64_t bits = words_[word];
      if (word == from / 64) bits &= ~std::uint64_t{0} << (from % 64);
      for (; bits; bits &= bits - 1) {
        if (!f(word * 64 + static_cast<std::size_t>(std::countr_zero(bits)))) return;
      }
    }
  }

 private:
  std::vector<std::uint64_t> words_;
};

// The seen points S, in z order and in w order (ascending, i.e. q3 and q4 descending).
struct SeenPoints {
  std::vector<std::uint32_t> by_z, by_w;      // rank -> point
  std::vector<std::uint32_t> z_rank, w_rank;  // point -> rank
  RankSet in_z, in_w;                         // the ranks of the points in S

  void reset(const std::vector<Point>& pts) {
    const std::size_t n = pts.size();
    rank_by(pts, &Point::z, by_z, z_rank);
    rank_by(pts, &Point::w, by_w, w_rank);
    in_z.reset(n);
    in_w.reset(n);
  }
  void insert(std::uint32_t i) {
    in_z.insert(z_rank[i]);
    in_w.insert(w_rank[i]);
  }
  void erase(std::uint32_t i) {
    in_z.erase(z_rank[i]);
    in_w.erase(w_rank[i]);
  }

 private:
  static void rank_by(const std::vector<Point>& pts, double Point::*c, std::vector<std::uint32_t>& order,
                      std::vector<std::uint32_t>& rank) {
    order.resize(pts.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return pts[a].*c < pts[b].*c; });
    rank.resize(pts.size());
    for (std::size_t r = 0; r < order.size(); ++r) rank[order[r]] = static_cast<std::uint32_t>(r);
  }
};

// min(p, s) in the kernels' terms: the larger negated coordinate, with w given.
inline void clip(Node* c, const Point& p, const Point& s, double w) {
  c->x = std::max(p.x, s.x);
  c->y = std::max(p.y, s.y);
  c->z = std::max(p.z, s.z);
  c->w = w;
}

// p's exclusive 4-D contribution against `seen` (p not in it); nothing when a seen point weakly
// dominates p in (x, y, z, w). Seen points that p dominates in (x, y, z, w) leave `seen`.
std::optional<double> one_contribution(hv4dplus::Sweep& sweep, const std::vector<Point>& pts, std::uint32_t pi, SeenPoints& seen) {
  const Point& p = pts[pi];
  Node* next_node = sweep.first();  // each seen point clips to at most one node

  // The base: the seen points with s.w <= p.w, in z order. Those with s.z <= p.z clip to p.z (the
  // lowest level); the others keep their z, and a run of equal z is put in (y, x) order.
  bool dominated = false, lowest = true;
  Node* run = nullptr;  // the first node of the pending run of equal z above the lowest level
  auto flush_run = [&] {
    if (run == nullptr) return;
    if (next_node - run > 1) std::sort(run, next_node, [](const Node& a, const Node& b) { return hv4dplus::lex_zyx_less(a, b); });
    for (Node* c = run; c != next_node; ++c) sweep.add_next(c);
    run = nullptr;
  };
  sweep.begin_base();
  seen.in_z.for_each_from(0, [&](std::size_t r) {
    const Point& s = pts[seen.by_z[r]];
    if (s.w > p.w) return true;  // not in the base
    if (s.z <= p.z) {
      if (s.x <= p.x && s.y <= p.y) {
        dominated = true;
        return false;
      }
      clip(next_node, p, s, p.w);
      sweep.add_lowest(next_node++);
      return true;
    }
    if (lowest) {
      sweep.link_lowest();
      lowest = false;
    }
    if (run != nullptr && run->z != s.z) flush_run();
    if (run == nullptr) run = next_node;
    clip(next_node++, p, s, p.w);
    return true;
  });
  if (dominated) return std::nullopt;
  if (lowest) sweep.link_lowest();
  flush_run();
  // p's exclusive 3-D volume at the current w: box3(p) minus the clipped points' volume.
  double exclusive = -p.x * -p.y * -p.z - sweep.end_base();

  // Down w: the seen points with s.w > p.w, in w order, until one dominates p in (x, y, z).
  double contribution = 0, w = p.w;
  seen.in_w.for_each_from(seen.w_rank[pi] + 1, [&](std::size_t r) {
    const std::uint32_t si = seen.by_w[r];
    const Point& s = pts[si];
    if (s.w <= p.w) return true;  // a tie in w: in the base
    contribution += exclusive * (s.w - w);
    w = s.w;
    if (s.x <= p.x && s.y <= p.y && s.z <= p.z) {
      exclusive = 0;
      return false;
    }
    clip(next_node, p, s, s.w);
    exclusive -= sweep.add(next_node++);
    if (p.x <= s.x && p.y <= s.y && p.z <= s.z) seen.erase(si);
    return true;
  });
  return contribution + exclusive * (0.0 - w);
}

}  // namespace

double hv5d(double* q, std::size_t n) {
  if (n == 0) return 0;
  // The points in sweep order (q5 descending), negated, and their q5.
  thread_local std::vector<std::uint32_t> order;
  thread_local std::vector<Point> pts;
  thread_local std::vector<double> q5;
  order.resize(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return q[5 * a + 4] > q[5 * b + 4]; });
  pts.resize(n);
  q5.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const double* r = q + 5 * order[k];
    pts[k] = {-r[0], -r[1], -r[2], -r[3]};
    q5[k] = r[4];
  }
  thread_local SeenPoints seen;
  seen.reset(pts);
  thread_local hv4dplus::Sweep sweep;
  double volume = 0, hv = 0;  // volume: V_k, the 4-D volume of the points so far
  for (std::uint32_t k = 0; k < n; ++k) {
    sweep.reset(n);
    if (const std::optional<double> c = one_contribution(sweep, pts, k, seen)) {
      volume += *c;
      seen.insert(k);
    }
    hv += volume * (q5[k] - (k + 1 < n ? q5[k + 1] : 0.0));
  }
  return hv;
}

}  // namespace moalign::moo
