// ParetoHqD selection: bounds (of the pool, or fixed), Pareto layers with the N_min rule, distances to each preference
// ray, top k per preference (see select_pareto_hq.h for the shapes and the formulas).
#include "select_pareto_hq.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "core/errors.h"
#include "pareto_ranks.h"

namespace moalign::moo {

namespace {

// Shortest round-trip form, as JS prints numbers (1.1, not 1.1000000000000001; NaN, Infinity).
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string objective_label(const SelectOptions& opts, std::size_t j) {
  std::string label = "objective " + std::to_string(j);
  if (j < opts.objective_names.size()) label += " (\"" + opts.objective_names[j] + "\")";
  return label;
}

void check_options(Points rewards, Points prefs, const SelectOptions& opts) {
  if (rewards.m < 2)
    throw InvalidArgument("rewards have " + std::to_string(rewards.m) + " objective(s); selection needs at least two (a trade-off)");
  if (rewards.n == 0) throw InvalidArgument("the pool is empty: no rewards to select from");
  if (!opts.objective_names.empty() && opts.objective_names.size() != rewards.m)
    throw InvalidArgument(std::to_string(opts.objective_names.size()) + " objective names for " + std::to_string(rewards.m) + " objectives");
  if (prefs.n == 0) throw InvalidArgument("no preferences: at least one is needed");
  if (prefs.m != rewards.m)
    throw InvalidArgument("preferences have " + std::to_string(prefs.m) + " values each but the rewards have " + std::to_string(rewards.m) + " objectives");
  if (opts.k == 0) throw InvalidArgument("k (samples per preference) must be at least 1");
  const double ql = opts.lower_quantile, qu = opts.upper_quantile;
  if (!(ql >= 0 && ql <= 1) || !(qu >= 0 && qu <= 1))
    throw InvalidArgument("bound quantiles must lie in [0, 1], got " + number(ql) + " and " + number(qu));
  if (!(ql < qu)) throw InvalidArgument("the lower bound quantile (" + number(ql) + ") must be below the upper one (" + number(qu) + ")");
}

// Preference p, checked (finite, >= 0, |Σ - 1| <= 1e-6) and divided by its sum (left as it is
// when the sum is exactly 1, so grid values i/10 stay bit for bit).
std::vector<double> checked_preference(Points prefs, std::size_t p) {
  const double* w = prefs.row(p);
  double sum = 0;
  for (std::size_t i = 0; i < prefs.m; ++i) {
    if (!std::isfinite(w[i]) || w[i] < 0)
      throw InvalidArgument("preference " + std::to_string(p) + ": value " + std::to_string(i) + " is " + number(w[i]) +
                            "; every weight must be a finite number >= 0");
    sum += w[i];
  }
  if (!(std::abs(sum - 1) <= 1e-6))
    throw InvalidArgument("preference " + std::to_string(p) + " sums to " + number(sum) + ", not 1 (tolerance 1e-6)");
  std::vector<double> out(w, w + prefs.m);
  if (sum != 1)
    for (double& v : out) v /= sum;
  return out;
}

// numpy's default ('linear') quantile, as ts/data/normalise.ts quantileSorted: the order
// statistics around the virtual index (n - 1)·q, interpolated from the nearer end. Reorders `x`.
double quantile(std::vector<double>& x, double q) {
  const std::size_t n = x.size();
  const double v = static_cast<double>(n - 1) * q;
  if (v >= static_cast<double>(n - 1)) return *std::max_element(x.begin(), x.end());
  const std::size_t i = static_cast<std::size_t>(std::floor(v));
  const double t = v - static_cast<double>(i);
  std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(i), x.end());
  const double a = x[i];
  const double b = *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(i) + 1, x.end());  // the next order statistic
  const double d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

bool has_fixed_bounds(const SelectOptions& opts) { return !opts.fixed_lo.empty() || !opts.fixed_hi.empty(); }

// The fixed bounds, checked: (m) values each, finite, hi above lo by more than the degeneracy
// margin of pool bounds (so the map (r - lo) / (hi - lo) stays well defined).
void fixed_bounds(std::size_t m, const SelectOptions& opts, std::vector<double>& lo, std::vector<double>& hi) {
  if (opts.fixed_lo.size() != m || opts.fixed_hi.size() != m)
    throw InvalidArgument("fixed bounds hold " + std::to_string(opts.fixed_lo.size()) + " lo and " + std::to_string(opts.fixed_hi.size()) +
                          " hi values for " + std::to_string(m) + " objectives");
  if (opts.lower_quantile != 0 || opts.upper_quantile != 1)
    throw InvalidArgument("fixed bounds and bound quantiles (" + number(opts.lower_quantile) + ", " + number(opts.upper_quantile) +
                          ") exclude each other: give one or the other");
  for (std::size_t j = 0; j < m; ++j) {
    const double a = opts.fixed_lo[j], b = opts.fixed_hi[j];
    const std::string what = objective_label(opts, j) + ": fixed bounds lo " + number(a) + ", hi " + number(b);
    if (!std::isfinite(a) || !std::isfinite(b)) throw InvalidArgument(what + ": both must be finite numbers");
    if (!(b > a)) throw InvalidArgument(what + ": hi must be above lo");
    if (!std::isfinite(b - a)) throw InvalidArgument(what + ": too far apart for doubles");
    if (b - a <= 1e-12 * std::max(1.0, std::abs(b))) throw InvalidArgument(what + ": too close together to normalise by (hi - lo <= 1e-12·max(1, |hi|))");
  }
  lo = opts.fixed_lo;
  hi = opts.fixed_hi;
}

// Per-objective lo/hi over the pool (paretohqd.md §2); a degenerate objective is an error.
void pool_bounds(Points r, const SelectOptions& opts, std::vector<double>& lo, std::vector<double>& hi) {
  const bool minmax = opts.lower_quantile == 0 && opts.upper_quantile == 1;
  lo.assign(r.m, 0);
  hi.assign(r.m, 0);
  std::vector<double> column;
  for (std::size_t j = 0; j < r.m; ++j) {
    if (minmax) {
      double a = r.row(0)[j], b = a;
      for (std::size_t i = 1; i < r.n; ++i) {
        const double v = r.row(i)[j];
        a = std::min(a, v);
        b = std::max(b, v);
      }
      lo[j] = a;
      hi[j] = b;
    } else {
      column.resize(r.n);
      for (std::size_t i = 0; i < r.n; ++i) column[i] = r.row(i)[j];
      lo[j] = quantile(column, opts.lower_quantile);
      hi[j] = quantile(column, opts.upper_quantile);
    }
    const double spread = hi[j] - lo[j];
    const std::string bounds = minmax ? "min " + number(lo[j]) + ", max " + number(hi[j])
                                      : number(opts.lower_quantile) + " quantile " + number(lo[j]) + ", " + number(opts.upper_quantile) +
                                            " quantile " + number(hi[j]);
    if (!std::isfinite(spread)) throw InvalidArgument(objective_label(opts, j) + ": its bounds (" + bounds + ") are too far apart for doubles");
    if (spread <= 1e-12 * std::max(1.0, std::abs(hi[j])))
      throw InvalidArgument(objective_label(opts, j) + " is constant over the pool (" + bounds + "): it carries no trade-off");
  }
}

// The order of selection: distance, then front, then row (paretohqd.md §5, ties).
struct Key {
  double d;
  std::int32_t front;
  std::uint32_t row;
  bool operator<(const Key& o) const noexcept {
    if (d != o.d) return d < o.d;
    if (front != o.front) return front < o.front;
    return row < o.row;
  }
};

// The k candidates nearest to ω's ray, nearest first. V (c, m) holds the candidates shifted to the
// ideal point (r̂ - 1 <= 0), cand (c) their rows; keys (c) is scratch space.
PreferenceSelection nearest_to_ray(const std::vector<double>& V, std::size_t m, const std::vector<std::uint32_t>& cand,
                                   const std::vector<std::int32_t>& ranks, const double* w, const SelectOptions& opts, std::vector<Key>& keys) {
  const std::size_t c = cand.size();
  // u = (ω - 1) / ||ω - 1||: the ray's direction, every entry <= 0
  double norm2 = 0;
  for (std::size_t i = 0; i < m; ++i) norm2 += (w[i] - 1) * (w[i] - 1);
  const double norm = std::sqrt(norm2);  // > 0: Σω = 1 < m, so ω != 1
  std::vector<double> u(m);
  for (std::size_t i = 0; i < m; ++i) u[i] = (w[i] - 1) / norm;
  const bool angular = opts.distance == RayDistance::Angular;
  for (std::size_t a = 0; a < c; ++a) {
    const double* v = V.data() + a * m;
    double t = 0;
    for (std::size_t i = 0; i < m; ++i) t += v[i] * u[i];  // >= 0: v <= 0 and u <= 0, so the ray is the line
    double e2 = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const double e = v[i] - t * u[i];  // the difference vector, not sqrt(|v|² - t²), which cancels near the ray
      e2 += e * e;
    }
    const double d = std::sqrt(e2);
    keys[a] = Key{angular ? std::atan2(d, t) : d, ranks[cand[a]], cand[a]};
  }
  // The k smallest keys: a selection in O(c), then a sort of those k.
  const std::size_t take = std::min(opts.k, c);
  const auto kth = keys.begin() + static_cast<std::ptrdiff_t>(take);
  if (take < c) std::nth_element(keys.begin(), kth, keys.end());
  std::sort(keys.begin(), kth);
  PreferenceSelection s;
  s.rows.resize(take);
  s.distances.resize(take);
  s.fronts.resize(take);
  for (std::size_t a = 0; a < take; ++a) {
    s.rows[a] = keys[a].row;
    s.distances[a] = keys[a].d;
    s.fronts[a] = keys[a].front;
  }
  return s;
}

}  // namespace

std::size_t default_pool_min(std::size_t k, std::size_t preferences) { return std::max<std::size_t>(20 * k * preferences, 5000); }

Selection select_pareto_hq(Points rewards, Points prefs, const SelectOptions& opts, const CancelToken* cancel) {
  check_options(rewards, prefs, opts);
  check_points(rewards, "rewards");
  const std::size_t n = rewards.n, m = rewards.m, P = prefs.n;
  Selection out;
  for (std::size_t p = 0; p < P; ++p) {
    const std::vector<double> w = checked_preference(prefs, p);
    out.preferences.insert(out.preferences.end(), w.begin(), w.end());
  }
  if (has_fixed_bounds(opts)) fixed_bounds(m, opts, out.lo, out.hi);
  else pool_bounds(rewards, opts, out.lo, out.hi);

  // Pareto layers on the raw rewards (§4): per-objective increasing maps leave dominance as it is.
  RankOptions rank_opts;
  if (opts.layers > 0) {
    rank_opts.max_fronts = opts.layers;
  } else {
    out.pool_min = opts.pool_min > 0 ? opts.pool_min : default_pool_min(opts.k, P);
    rank_opts.stop_after_points = out.pool_min;
  }
  out.ranks = pareto_ranks(rewards, {}, rank_opts);
  if (cancel) cancel->throw_if_cancelled();

  // D^Pareto in ascending row order, shifted to the ideal point: V = r̂ - 1 <= 0.
  std::vector<std::uint32_t> cand;
  std::int32_t last_front = 0;
  for (std::size_t j = 0; j < n; ++j) {
    if (out.ranks[j] == 0) continue;
    cand.push_back(static_cast<std::uint32_t>(j));
    last_front = std::max(last_front, out.ranks[j]);
  }
  const std::size_t c = cand.size();
  out.layers = static_cast<std::size_t>(last_front);
  out.candidates = c;
  out.pool_short = opts.layers > 0 ? out.layers < opts.layers : c < out.pool_min;
  out.fewer_than_k = c < opts.k;
  std::vector<double> V(c * m);
  for (std::size_t a = 0; a < c; ++a) {
    const double* r = rewards.row(cand[a]);
    for (std::size_t i = 0; i < m; ++i) {
      const double x = (r[i] - out.lo[i]) / (out.hi[i] - out.lo[i]);
      V[a * m + i] = std::min(1.0, std::max(0.0, x)) - 1;
    }
  }

  // Each preference on its own: distances to its ray, the k nearest.
  std::vector<Key> keys(c);
  out.per_preference.resize(P);
  for (std::size_t p = 0; p < P; ++p) {
    if (cancel) cancel->throw_if_cancelled();
    out.per_preference[p] = nearest_to_ray(V, m, cand, out.ranks, out.preferences.data() + p * m, opts, keys);
  }
  return out;
}

}  // namespace moalign::moo
