// The presort of the hypervolume sweeps and the non-dominated sorts: the order of rows by one
// coordinate, descending.
// Batches run the sweeps on many fronts of about 100 points, where std::sort on (value, row)
// pairs mispredicts about every other comparison, and those mispredictions were most of a 2-D
// front's time. Here the values become integer keys and the sort has no data-dependent branch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace moalign::moo {

// Fills `order` (resized to n) with 0..n-1 sorted by values[i * stride] descending. Values must
// be finite; -0 counts as 0. Rows with equal values come in descending row order: the order
// depends only on the values, never on how a kernel is called. Also the first pass of the
// non-dominated sorts (pareto_ranks.cpp), on up to 2^32 rows.
void descending_order(const double* values, std::size_t n, std::size_t stride, std::vector<std::uint32_t>& order);

}  // namespace moalign::moo
