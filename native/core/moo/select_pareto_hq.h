// ParetoHqD's Pareto high-quality data selection (paretohqd.md §2–5): from a pool of scored
// samples, keep the top Pareto layers D^Pareto (ranked on the raw rewards), normalise them to
// [0, 1]^m, and for each preference ω take the k samples nearest to the ray that starts at the
// ideal point 1 and heads toward ω. Torch-free, like the rest of core/moo.
//
//   R (n, m) raw rewards, maximised      Ω (P, m) preferences, ω_i >= 0, Σω_i = 1
//   lo, hi  = per-objective bounds: of R (min/max, or lower/upper quantiles), or fixed (m) each
//   ranks   = non-dominated sort of R, stopped once N_min points are ranked (or after L fronts)
//   cand    = { j : 1 <= ranks[j] <= L }                          (D^Pareto, ascending rows)
//   V       = clamp((R[cand] - lo) / (hi - lo), 0, 1) - 1         (|cand|, m), every entry <= 0
//   per ω:  u = (ω - 1) / ||ω - 1||,  t = V u,  e = V - t u
//           d = ||e|| (perpendicular) or atan2(||e||, t) (angular)
//           S(ω) = the k candidates smallest by (d, front, row)
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "points.h"

namespace moalign::moo {

enum class RayDistance {
  Perpendicular,  // Euclidean distance to the ray, in normalised space
  Angular,        // angle (radians) between 1 - r̂ and 1 - ω; 0 at the ideal point
};

struct SelectOptions {
  std::size_t k = 100;  // samples per preference
  // Bounds: lo = this quantile of each objective over the pool, hi = that one (numpy's 'linear'
  // quantile). 0 and 1 are the pool's min and max.
  double lower_quantile = 0.0;
  double upper_quantile = 1.0;
  // Fixed bounds (m) each, used instead of the quantiles when both are non-empty: e.g. another
  // pool's bounds (ParetoHqD's stage2Bounds "stage1"). Rewards outside them are clamped into
  // [0, 1] like rewards outside quantile bounds. Both empty = the quantile bounds.
  std::vector<double> fixed_lo, fixed_hi;
  RayDistance distance = RayDistance::Perpendicular;
  // N_min: D^Pareto is the fewest fronts holding at least this many samples. 0 = the default,
  // max(20·k·P, 5000).
  std::size_t pool_min = 0;
  // A fixed number of fronts L, overriding the N_min rule. 0 = use the rule.
  std::size_t layers = 0;
  // Names for error messages, in objective order; empty = "objective j".
  std::vector<std::string> objective_names;
};

// One preference's selection, nearest first: min(k, |cand|) entries.
struct PreferenceSelection {
  std::vector<std::uint32_t> rows;    // rows of R
  std::vector<double> distances;      // d(r̂; ω)
  std::vector<std::int32_t> fronts;   // 1-based front of each row
};

struct Selection {
  std::vector<double> lo, hi;    // (m) the bounds used
  std::vector<double> preferences;  // (P, m) the preferences used (divided by their sums)
  std::size_t pool_min = 0;      // N_min the rule used; 0 with fixed layers
  std::size_t layers = 0;        // L: fronts in D^Pareto
  std::size_t candidates = 0;    // |D^Pareto|
  bool pool_short = false;       // the rule could not be met: n < N_min (all fronts taken), or fewer than L fronts
  bool fewer_than_k = false;     // |D^Pareto| < k: every preference took all candidates
  std::vector<std::int32_t> ranks;                 // (n) front of each row, 1..L; 0 = not in D^Pareto
  std::vector<PreferenceSelection> per_preference;  // (P)
};

// N_min's default: max(20·k·P, 5000).
std::size_t default_pool_min(std::size_t k, std::size_t preferences);

// Throws InvalidArgument (naming the objective, row or preference) for: m < 2, an empty pool, a
// non-finite reward, a preference of the wrong length, negative or not summing to 1 within
// 1e-6, k = 0, quantiles outside [0, 1] or not increasing, fixed bounds of the wrong length or
// not finite or with hi <= lo, and a degenerate objective (hi - lo <= 1e-12·max(1, |hi|)). `cancel` is polled between preferences.
Selection select_pareto_hq(Points rewards, Points preferences, const SelectOptions& opts, const CancelToken* cancel = nullptr);

}  // namespace moalign::moo
