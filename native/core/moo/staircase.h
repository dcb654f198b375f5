// The 2-D non-dominated set of the sweeps (hv3d, hv4d), with the area it dominates above the
// origin kept up to date on every insertion (metrics.md §2.2, m = 3). Entries are keyed by the
// rank of their x among the distinct x values of the whole problem, so the ordered set is a
// SuccessorSet rather than a balanced tree. Invariant: x ascending with key, y strictly descending.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "successor_set.h"

namespace moalign::moo {

// What inserting (x, y) adds to a staircase's area: (left_x, x] now has height y; it had the
// `removed` strips of the entries the point dominates, and (last_x, x] belonged to the entry on
// its right, at height right_y.
inline double inserted_area(double x, double y, double left_x, double last_x, double right_y, double removed) {
  return (x - left_x) * y - removed - (x - last_x) * right_y;
}

class Staircase {
 public:
  // `xs`: the distinct x values, ascending; key k stands for xs[k]. Must outlive the staircase.
  explicit Staircase(const std::vector<double>& xs) : xs_(xs), keys_(xs.size()), ys_(xs.size()) {}

  double area() const noexcept { return area_; }

  // Adds the point (xs[key], y). Returns false (and changes nothing) when an entry weakly dominates it.
  bool insert(std::int64_t key, double y) {
    const std::int64_t right = keys_.successor(key + 1);
    const double right_y = right == SuccessorSet::kNone ? 0.0 : ys_[right];
    if (right_y >= y) return false;
    std::int64_t cur = keys_.predecessor(key);
    if (cur == key && ys_[cur] >= y) return false;
    const double x = xs_[key];
    // Entries left of x with y <= the new y are now dominated: remove them, subtracting the
    // strips (d_{i-1}.x, d_i.x] x d_i.y they held. `last_x` ends as the right edge of the last one.
    double removed = 0, last_x = -1;
    while (cur != SuccessorSet::kNone && ys_[cur] <= y) {
      const std::int64_t next = keys_.predecessor(cur - 1);
      if (last_x < 0) last_x = xs_[cur];
      removed += (xs_[cur] - (next == SuccessorSet::kNone ? 0.0 : xs_[next])) * ys_[cur];
      keys_.erase(cur);
      cur = next;
    }
    const double left_x = cur == SuccessorSet::kNone ? 0.0 : xs_[cur];
    if (last_x < 0) last_x = left_x;
    area_ += inserted_area(x, y, left_x, last_x, right_y, removed);
    keys_.insert(key);
    ys_[key] = y;
    return true;
  }

  // Empties the staircase in O(size log64 capacity).
  void clear() noexcept {
    for (std::int64_t k = keys_.successor(0); k != SuccessorSet::kNone; k = keys_.successor(k + 1)) keys_.erase(k);
    area_ = 0;
  }

 private:
  const std::vector<double>& xs_;
  SuccessorSet keys_;
  std::vector<double> ys_;  // y of the entry at each present key
  double area_ = 0;
};

// The same staircase in two flat arrays, x ascending, for small fronts: with a few dozen steps,
// a counting scan and short memmoves beat the bit trees, and no x ranks (a second
// sort) are needed. Sentinels (0, +inf) and (+inf, 0) bound it, standing in for "no entry" (x 0, y 0) in
// the same arithmetic as Staircase, so both give the same area bit for bit.
class FlatStaircase {
 public:
  // Empties the staircase, with room for n points.
  void clear(std::size_t n) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    xs_.resize(n + 3 + kMove);  // room for a fixed-size move that starts at the last step
    ys_.resize(n + 3 + kMove);
    xs_[0] = 0.0;
    ys_[0] = kInf;
    xs_[1] = kInf;
    ys_[1] = 0.0;
    size_ = 2;
    area_ = 0;
  }

  double area() const noexcept { return area_; }

  // Adds the point (x, y), x and y > 0. Returns false (and changes nothing) when an entry weakly
  // dominates it.
  bool insert(double x, double y) {
    double* xs = xs_.data();
    double* ys = ys_.data();
    // The first entry with a larger x (the +inf sentinel at the latest), by counting the entries
    // at or left of x: independent compares over contiguous x values, where a binary search is
    // a chain of dependent loads (slower here on 100-point fronts, though fewer instructions).
    std::size_t right = 0;
    for (std::size_t i = 0; i < size_; ++i) right += xs[i] <= x;
    if (ys[right] >= y) return false;
    std::size_t cur = right - 1;
    if (xs[cur] == x && ys[cur] >= y) return false;
    // Entries left of x with y <= the new y are dominated: subtract their strips. The left
    // sentinel's +inf height ends the walk.
    double removed = 0, last_x = -1;
    for (; ys[cur] <= y; --cur) {
      if (last_x < 0) last_x = xs[cur];
      removed += (xs[cur] - xs[cur - 1]) * ys[cur];
    }
    if (last_x < 0) last_x = xs[cur];
    area_ += inserted_area(x, y, xs[cur], last_x, ys[right], removed);
    // The entries cur+1 .. right-1 were dominated: the new one takes place cur+1, and the
    // entries from `right` on move to follow it.
    const std::size_t to = cur + 2;
    if (to != right) {
      // Usually a few steps move: then kMove of them (what follows the end is scratch), so the
      // length memmove branches on is nearly always the same, and predicted.
      const std::size_t count = std::max(size_ - right, kMove);
      std::memmove(xs + to, xs + right, count * sizeof(double));
      std::memmove(ys + to, ys + right, count * sizeof(double));
    }
    size_ = size_ + to - right;
    xs[cur + 1] = x;
    ys[cur + 1] = y;
    return true;
  }

 private:
  static constexpr std::size_t kMove = 16;
  std::vector<double> xs_, ys_;  // x ascending, y strictly descending; sentinels first and last
  std::size_t size_ = 0;
  double area_ = 0;
};

// Ranks of x among its distinct values: fills `xs` (distinct, ascending) and `key` (per row).
void rank_distinct(const double* values, std::size_t n, std::size_t stride, std::vector<double>& xs,
                   std::vector<std::int32_t>& key);

}  // namespace moalign::moo
