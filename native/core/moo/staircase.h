// The 2-D non-dominated set of the sweeps (hv3d, hv4d), with the area it dominates above the
// origin kept up to date on every insertion (metrics.md §2.2, m = 3). Entries are keyed by the
// rank of their x among the distinct x values of the whole problem, so the ordered set is a
// SuccessorSet rather than a balanced tree. Invariant: x ascending with key, y strictly descending.
#pragma once
#include <cstdint>
#include <vector>

#include "successor_set.h"

namespace moalign::moo {

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
    // (left_x, x] now has height y; it had the removed strips, and (last_x, x] belonged to `right`.
    area_ += (x - left_x) * y - removed - (x - last_x) * right_y;
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

// Ranks of x among its distinct values: fills `xs` (distinct, ascending) and `key` (per row).
void rank_distinct(const double* values, std::size_t n, std::size_t stride, std::vector<double>& xs,
                   std::vector<std::int32_t>& key);

}  // namespace moalign::moo
