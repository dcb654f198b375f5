#include "points.h"

#include <cmath>
#include <string>

#include "core/errors.h"

namespace moalign::moo {

void check_points(Points p, const char* what, std::ptrdiff_t front) {
  if (p.m == 0) throw InvalidArgument(std::string(what) + ": points need at least one objective (m = 0)");
  const std::string where = front >= 0 ? std::string(what) + ", front " + std::to_string(front) : std::string(what);
  for (std::size_t i = 0; i < p.n; ++i) {
    const double* r = p.row(i);
    for (std::size_t j = 0; j < p.m; ++j) {
      if (!std::isfinite(r[j])) {
        throw InvalidArgument(where + ": row " + std::to_string(i) + ", column " + std::to_string(j) + " is " +
                              (std::isnan(r[j]) ? "NaN" : r[j] > 0 ? "+Infinity" : "-Infinity") +
                              "; every objective value must be a finite number");
      }
    }
  }
}

void check_mask(const MinimiseMask& mask, std::size_t m) {
  if (!mask.empty() && mask.size() != m) {
    throw InvalidArgument("minimise has " + std::to_string(mask.size()) + " entries but the points have " +
                          std::to_string(m) + " objectives");
  }
}

std::vector<double> to_maximisation(Points p, const MinimiseMask& mask) {
  std::vector<double> out(p.data, p.data + p.n * p.m);
  if (mask.empty()) return out;
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::size_t j = 0; j < p.m; ++j)
      if (mask[j]) out[i * p.m + j] = -out[i * p.m + j];
  return out;
}

std::size_t shift_to_origin(Points p, const double* ref, const MinimiseMask& mask, std::vector<double>& q) {
  q.resize(p.n * p.m);
  std::size_t kept = 0;
  double* out = q.data();
  for (std::size_t i = 0; i < p.n; ++i) {
    const double* r = p.row(i);
    bool inside = true;
    for (std::size_t j = 0; j < p.m; ++j) {
      const double s = objective_sign(mask, j);
      const double d = s * r[j] - s * ref[j];  // (p - z) in maximisation form
      out[j] = d;
      inside &= d > 0;
    }
    if (inside) {
      out += p.m;
      ++kept;
    }
  }
  q.resize(kept * p.m);
  return p.n - kept;
}

}  // namespace moalign::moo
