// The one rule for a preference vector λ on the simplex, shared by the SVD-LoRA preference
// (causal_lm.cpp) and preference training's fixed λ (trainer.cpp): m finite weights, none below
// -1e-6, summing to 1 within 1e-6 (design panacea.md §7, pitfall 12). Core-internal.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

namespace moalign {

// The first problem of the m weights at `v`, worded to follow a name ("preference row 2" + it),
// or "" when they lie on the simplex.
inline std::string simplex_problem(const double* v, int64_t m) {
  double sum = 0;
  for (int64_t i = 0; i < m; ++i) {
    if (!std::isfinite(v[i])) return ": value " + std::to_string(i) + " is not finite";
    if (v[i] < -1e-6) return ": value " + std::to_string(i) + " is negative (" + std::to_string(v[i]) + ")";
    sum += v[i];
  }
  if (std::abs(sum - 1) > 1e-6) return " sums to " + std::to_string(sum) + ", not 1: a preference lies on the simplex";
  return "";
}

}  // namespace moalign
