// The alignment metrics of one front (metrics.md §2.1, §3-5): hypervolume, inner product,
// sparsity and spacing, in the shared normalised space or in raw reward space.
#pragma once
#include <cstdint>
#include <vector>

#include "points.h"

namespace moalign::moo {

enum class SparsityVariant { Pgmorl, Pairwise };
enum class SpacingVariant { Libmoon, Schott };

// Shared scaling over every front in a comparison: lo = min - margin * (max - min), hi = max.
struct Bounds {
  std::vector<double> lo, hi;
};
Bounds normalisation_bounds(const std::vector<Points>& fronts, double margin);

struct FrontMetricsOptions {
  bool normalized = true;
  Bounds bounds;            // used when normalized
  std::vector<double> ref;  // the HV reference point when raw; the origin when normalized
  SparsityVariant sparsity = SparsityVariant::Pgmorl;
  SpacingVariant spacing = SpacingVariant::Libmoon;
};

struct FrontMetrics {
  double hypervolume = 0;
  std::size_t hv_dropped = 0;
  double inner_product = 0;
  double sparsity = 0;
  std::size_t n_nondominated = 0;
  double spacing = 0;
};

// points[j] was produced for preferences[j]; each preference lies on the simplex.
FrontMetrics front_metrics(Points points, Points preferences, const FrontMetricsOptions& opts);

// (x - lo) / (hi - lo) per objective; an objective with hi == lo maps to 1.
std::vector<double> normalise(Points p, const Bounds& bounds);

}  // namespace moalign::moo
