// Non-dominated sorting (metrics.md §1): rank 1 = not dominated by any point, rank f+1 = not
// dominated once ranks 1..f are removed. Identical points share a rank. Maximisation.
#pragma once
#include <cstdint>
#include <vector>

#include "points.h"

namespace moalign::moo {

struct RankOptions {
  // Stop once this many points are ranked; the front that reaches the count is completed. 0 = no limit.
  std::size_t stop_after_points = 0;
  // Rank at most this many fronts. 0 = no limit.
  std::size_t max_fronts = 0;
};

// Rank per point, 1-based; 0 for points left unranked by the options.
// m = 2: one pass over all fronts, O(n log n). m = 3: one pass with a 2-D staircase per front and
// a binary search over fronts, O(n log n log F). m >= 4: one pass in order of decreasing sum,
// each point compared with the members of O(log F) fronts.
std::vector<std::int32_t> pareto_ranks(Points p, const MinimiseMask& mask, const RankOptions& opts = {});

// Row order (n rows of m) in which every point comes after all points that dominate it:
// decreasing sum, ties by decreasing lexicographic order (floating-point sums are monotone but a
// dominator's sum may round to the same value). Identical rows end up adjacent.
std::vector<std::uint32_t> dominators_first(const double* rows, std::size_t n, std::size_t m);

}  // namespace moalign::moo
