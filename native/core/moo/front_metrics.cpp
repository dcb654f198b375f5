#include "front_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/errors.h"
#include "hypervolume.h"
#include "pareto_ranks.h"

namespace moalign::moo {

namespace {

constexpr double kSimplexTolerance = 1e-6;

void check_preferences(Points prefs, std::size_t n, std::size_t m) {
  check_points(prefs, "preferences");
  if (prefs.n != n) throw InvalidArgument("there are " + std::to_string(n) + " points but " + std::to_string(prefs.n) + " preferences; each point needs the preference that produced it");
  if (prefs.m != m) throw InvalidArgument("preferences have " + std::to_string(prefs.m) + " objectives but the points have " + std::to_string(m));
  for (std::size_t j = 0; j < n; ++j) {
    const double* l = prefs.row(j);
    double sum = 0;
    for (std::size_t i = 0; i < m; ++i) {
      if (l[i] < 0) throw InvalidArgument("preference row " + std::to_string(j) + " is off the simplex: column " + std::to_string(i) + " is negative (" + std::to_string(l[i]) + ")");
      sum += l[i];
    }
    if (std::abs(sum - 1) > kSimplexTolerance) throw InvalidArgument("preference row " + std::to_string(j) + " is off the simplex: it sums to " + std::to_string(sum) + ", not 1");
  }
}

// PGMORL: per objective, the squared gaps between sorted coordinates of the non-dominated points.
double sparsity_pgmorl(const std::vector<double>& nd, std::size_t np, std::size_t m) {
  double total = 0;
  std::vector<double> col(np);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < np; ++j) col[j] = nd[j * m + i];
    std::sort(col.begin(), col.end());
    for (std::size_t j = 0; j + 1 < np; ++j) total += (col[j + 1] - col[j]) * (col[j + 1] - col[j]);
  }
  return total / static_cast<double>(np - 1);
}

// Points sorted by objective 1 (then the others); squared distances between neighbours / (m (Np - 1)).
double sparsity_pairwise(const std::vector<double>& nd, std::size_t np, std::size_t m) {
  std::vector<std::uint32_t> order(np);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return std::lexicographical_compare(nd.begin() + a * m, nd.begin() + a * m + m, nd.begin() + b * m, nd.begin() + b * m + m);
  });
  double total = 0;
  for (std::size_t j = 0; j + 1 < np; ++j) {
    for (std::size_t i = 0; i < m; ++i) {
      const double d = nd[order[j + 1] * m + i] - nd[order[j] * m + i];
      total += d * d;
    }
  }
  return total / (static_cast<double>(m) * static_cast<double>(np - 1));
}

// Spread of nearest-neighbour distances: libmoon = L2 and 1/N, Schott = L1 and 1/(N - 1).
double spacing(const double* x, std::size_t n, std::size_t m, SpacingVariant variant) {
  if (n <= 1) return 0;
  std::vector<double> d(n, std::numeric_limits<double>::infinity());
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      double dist = 0;
      for (std::size_t i = 0; i < m; ++i) {
        const double diff = x[a * m + i] - x[b * m + i];
        dist += variant == SpacingVariant::Libmoon ? diff * diff : std::abs(diff);
      }
      if (variant == SpacingVariant::Libmoon) dist = std::sqrt(dist);
      d[a] = std::min(d[a], dist);
      d[b] = std::min(d[b], dist);
    }
  }
  const double mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(n);
  double ss = 0;
  for (double v : d) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(variant == SpacingVariant::Libmoon ? n : n - 1));
}

}  // namespace

Bounds normalisation_bounds(const std::vector<Points>& fronts, double margin) {
  if (!(margin >= 0) || !std::isfinite(margin)) throw InvalidArgument("hvMargin must be a finite number >= 0");
  std::size_t m = 0, rows = 0;
  for (std::size_t f = 0; f < fronts.size(); ++f) {
    check_points(fronts[f], "fronts", static_cast<std::ptrdiff_t>(f));
    if (f > 0 && fronts[f].m != m) throw InvalidArgument("front " + std::to_string(f) + " has " + std::to_string(fronts[f].m) + " objectives, front 0 has " + std::to_string(m));
    m = fronts[f].m;
    rows += fronts[f].n;
  }
  if (rows == 0) throw InvalidArgument("normalisation bounds need at least one point");
  Bounds b{std::vector<double>(m, std::numeric_limits<double>::infinity()), std::vector<double>(m, -std::numeric_limits<double>::infinity())};
  for (const Points& f : fronts)
    for (std::size_t j = 0; j < f.n; ++j)
      for (std::size_t i = 0; i < m; ++i) {
        b.lo[i] = std::min(b.lo[i], f.row(j)[i]);
        b.hi[i] = std::max(b.hi[i], f.row(j)[i]);
      }
  for (std::size_t i = 0; i < m; ++i) b.lo[i] -= margin * (b.hi[i] - b.lo[i]);
  return b;
}

std::vector<double> normalise(Points p, const Bounds& bounds) {
  if (bounds.lo.size() != p.m || bounds.hi.size() != p.m) throw InvalidArgument("bounds lo and hi need " + std::to_string(p.m) + " values each, one per objective");
  std::vector<double> out(p.n * p.m);
  for (std::size_t i = 0; i < p.m; ++i) {
    const double lo = bounds.lo[i], span = bounds.hi[i] - bounds.lo[i];
    if (!std::isfinite(lo) || !std::isfinite(span) || span < 0) throw InvalidArgument("bounds for objective " + std::to_string(i) + " must be finite with lo <= hi");
    for (std::size_t j = 0; j < p.n; ++j) out[j * p.m + i] = span > 0 ? (p.row(j)[i] - lo) / span : 1.0;
  }
  return out;
}

FrontMetrics front_metrics(Points points, Points preferences, const FrontMetricsOptions& opts) {
  check_points(points, "points");
  check_preferences(preferences, points.n, points.m);
  const std::size_t n = points.n, m = points.m;
  std::vector<double> x;
  std::vector<double> ref(m, 0.0);
  if (opts.normalized) {
    x = normalise(points, opts.bounds);
  } else {
    if (opts.ref.size() != m) throw InvalidArgument("raw space needs a reference point with " + std::to_string(m) + " values (ref)");
    x.assign(points.data, points.data + n * m);
    ref = opts.ref;
  }
  const Points space{x.data(), n, m};
  FrontMetrics r;
  const HypervolumeResult hv = hypervolume(space, ref.data(), {});
  r.hypervolume = hv.hypervolume;
  r.hv_dropped = hv.dropped;
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i) r.inner_product += preferences.row(j)[i] * x[j * m + i];
  if (n > 0) r.inner_product /= static_cast<double>(n);

  const std::vector<std::int32_t> rank = pareto_ranks(space, {}, RankOptions{0, 1});
  std::vector<double> nd;
  for (std::size_t j = 0; j < n; ++j)
    if (rank[j] == 1) nd.insert(nd.end(), x.begin() + j * m, x.begin() + j * m + m);
  r.n_nondominated = nd.size() / m;
  if (r.n_nondominated > 1)
    r.sparsity = opts.sparsity == SparsityVariant::Pgmorl ? sparsity_pgmorl(nd, r.n_nondominated, m) : sparsity_pairwise(nd, r.n_nondominated, m);
  r.spacing = spacing(x.data(), n, m, opts.spacing);
  return r;
}

}  // namespace moalign::moo
