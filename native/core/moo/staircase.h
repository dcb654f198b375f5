// The 2-D non-dominated set of the sweeps (hv3d, hv4d), with the area it dominates above the
// origin kept up to date on every insertion (metrics.md §2.2, m = 3). Entries are keyed by the
// rank of their x among the distinct x values of the whole problem, so the ordered set is a
// SuccessorSet rather than a balanced tree. Invariant: x ascending with key, y strictly descending.
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>
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

// The same staircase for fronts of up to kMaxPoints points, keyed by x rank like Staircase but
// over a few words of bits: a successor or predecessor is one or two bit scans, an insertion
// or removal one bit, and nothing moves. (A flat array sorted by x, found by counting, spent
// most of a 100-point front's time in its scans and memmoves; the x ranks cost a second
// presort, which costs less.) Sentinel keys 0 (x 0, y +inf) and last (x +inf, y 0) bound it,
// standing in for "no entry" (x 0, y 0) in the same arithmetic as Staircase, so both give the
// same area bit for bit.
class BitStaircase {
 public:
  static constexpr std::size_t kMaxPoints = 4 * 64 - 2;  // keys 1 .. 254, sentinels 0 and 255

  // Empties the staircase. `xs`: x of each key, ascending, xs[0] = 0 and xs[last] = +inf (the
  // sentinels), last <= kMaxPoints + 1; must outlive the staircase's use.
  void clear(const double* xs, std::size_t last) {
    xs_ = xs;
    for (std::uint64_t& w : words_) w = 0;
    set(0);
    set(last);
    ys_[0] = std::numeric_limits<double>::infinity();
    ys_[last] = 0.0;
    area_ = 0;
  }

  double area() const noexcept { return area_; }

  // Adds the point (xs[key], y), 0 < key < last, y > 0. Returns false (and changes nothing) when
  // an entry weakly dominates it.
  bool insert(std::size_t key, double y) {
    const std::size_t right = successor(key + 1);
    if (ys_[right] >= y) return false;
    std::size_t cur = predecessor(key);
    if (cur == key && ys_[cur] >= y) return false;
    // Entries left of x with y <= the new y are dominated: subtract their strips. The left
    // sentinel's +inf height ends the walk.
    double removed = 0, last_x = -1;
    while (ys_[cur] <= y) {
      const std::size_t next = predecessor(cur - 1);
      if (last_x < 0) last_x = xs_[cur];
      removed += (xs_[cur] - xs_[next]) * ys_[cur];
      words_[cur >> 6] &= ~(std::uint64_t{1} << (cur & 63));
      cur = next;
    }
    if (last_x < 0) last_x = xs_[cur];
    area_ += inserted_area(xs_[key], y, xs_[cur], last_x, ys_[right], removed);
    set(key);
    ys_[key] = y;
    return true;
  }

 private:
  static constexpr std::size_t kWords = 4;
  std::uint64_t words_[kWords];  // bit k: key k is an entry
  double ys_[kWords * 64];       // y of the entry at each present key
  const double* xs_ = nullptr;
  double area_ = 0;

  void set(std::size_t k) noexcept { words_[k >> 6] |= std::uint64_t{1} << (k & 63); }

  // The smallest entry >= k (the right sentinel at the latest). Over all words, by selects: a
  // loop over words would branch on where the entry lies.
  std::size_t successor(std::size_t k) const noexcept {
    const std::size_t w = k >> 6;
    const std::uint64_t high = ~std::uint64_t{0} << (k & 63);
    std::size_t found = 0;
    for (std::size_t i = kWords; i-- > 0;) {
      const std::uint64_t bits = words_[i] & (i > w ? ~std::uint64_t{0} : i == w ? high : 0);
      const std::size_t at = (i << 6) | static_cast<std::size_t>(std::countr_zero(bits) & 63);
      found = bits ? at : found;
    }
    return found;
  }

  // The largest entry <= k (the left sentinel at the latest).
  std::size_t predecessor(std::size_t k) const noexcept {
    const std::size_t w = k >> 6;
    const std::uint64_t low = ~std::uint64_t{0} >> (63 - (k & 63));
    std::size_t found = 0;
    for (std::size_t i = 0; i < kWords; ++i) {
      const std::uint64_t bits = words_[i] & (i < w ? ~std::uint64_t{0} : i == w ? low : 0);
      const std::size_t at = (i << 6) | static_cast<std::size_t>(63 - (std::countl_zero(bits) & 63));
      found = bits ? at : found;
    }
    return found;
  }
};

// Ranks of x among its distinct values: fills `xs` (distinct, ascending) and `key` (per row).
void rank_distinct(const double* values, std::size_t n, std::size_t stride, std::vector<double>& xs,
                   std::vector<std::int32_t>& key);

}  // namespace moalign::moo
