// Objective vectors as the multi-objective core sees them: a borrowed row-major n x m matrix,
// maximised on every objective. Minimisation is a sign flip applied to the points and the
// reference point together (metrics.md §0), so the two can never drift apart.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace moalign::moo {

struct Points {
  const double* data = nullptr;  // (n, m), row-major
  std::size_t n = 0;
  std::size_t m = 0;
  const double* row(std::size_t i) const noexcept { return data + i * m; }
};

// Per objective: 1 = minimise. Empty = maximise every objective.
using MinimiseMask = std::vector<std::uint8_t>;

// True when no value is NaN or ±Inf (one vectorised pass).
bool all_finite(const double* v, std::size_t count) noexcept;

// Throws InvalidArgument unless m >= 1 and every value is finite. The message names the row and
// column (0-based), and the front when `front` >= 0.
void check_points(Points p, const char* what, std::ptrdiff_t front = -1);
void check_mask(const MinimiseMask& mask, std::size_t m);

// The sign each objective gets in maximisation form: -1 where minimised.
inline double objective_sign(const MinimiseMask& mask, std::size_t i) noexcept {
  return !mask.empty() && mask[i] ? -1.0 : 1.0;
}

// Copies `p` into maximisation form (n x m, row-major).
std::vector<double> to_maximisation(Points p, const MinimiseMask& mask);

// The hypervolume set-up (metrics.md §2.1): keeps the rows that strictly dominate `ref` after the
// sign flip, shifted so the reference point is the origin (every kept coordinate > 0).
// Writes them to `q` (resized to kept*m) and returns how many rows were dropped.
std::size_t shift_to_origin(Points p, const double* ref, const MinimiseMask& mask, std::vector<double>& q);

}  // namespace moalign::moo
