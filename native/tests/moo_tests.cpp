// C++ tests of the multi-objective core against references written here: inclusion-exclusion
// hypervolume, slicing along q5 for m = 5, and brute-force peeling, in double precision. Plus
// `moo_gpu_bench` (not a ctest case): batch timings of the CPU sweeps against the tensor path, for
// bench/RESULTS.md.
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "core/cancel.h"
#include "core/compute_thread.h"
#include "core/cpu_features.h"
#include "core/moo/descending_order.h"
#include "core/moo/hv4d_avx512.h"
#include "core/moo/hypervolume.h"
#include "core/moo/pareto_ranks.h"
#include "core/moo/select_pareto_hq.h"
#include "core/runtime.h"
#include "harness.h"

using namespace moalign;
using namespace moalign::moo;

namespace {

using Rows = std::vector<std::vector<double>>;

std::vector<double> flat(const Rows& rows) {
  std::vector<double> out;
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}

// sum over non-empty subsets T of (-1)^{|T|+1} prod_i (min_{p in T} p_i - z_i)^+
double inclusion_exclusion(const Rows& pts, const std::vector<double>& ref) {
  const std::size_t n = pts.size(), m = ref.size();
  double total = 0;
  for (std::uint32_t mask = 1; mask < (1u << n); ++mask) {
    double v = 1;
    for (std::size_t i = 0; i < m; ++i) {
      double lo = INFINITY;
      for (std::size_t j = 0; j < n; ++j)
        if (mask & (1u << j)) lo = std::min(lo, pts[j][i]);
      v *= std::max(0.0, lo - ref[i]);
    }
    total += (__builtin_popcount(mask) % 2 ? 1 : -1) * v;
  }
  return total;
}

Rows random_rows(std::mt19937_64& g, std::size_t n, std::size_t m, bool integers) {
  std::uniform_real_distribution<double> u(0, 1);
  Rows rows(n, std::vector<double>(m));
  for (auto& r : rows)
    for (auto& v : r) v = integers ? std::floor(u(g) * 5) : u(g);
  return rows;
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-12 * std::max(1.0, std::abs(b)); }

void moo_hypervolume_oracle() {
  std::mt19937_64 g(7);
  for (std::size_t m = 1; m <= 6; ++m) {
    for (int trial = 0; trial < 150; ++trial) {
      const bool integers = trial % 2 == 0;
      const Rows rows = random_rows(g, 1 + trial % 10, m, integers);
      const std::vector<double> ref(m, integers ? 0.0 : 0.1);
      const std::vector<double> x = flat(rows);
      const double expected = inclusion_exclusion(rows, ref);
      const HypervolumeResult r = hypervolume(Points{x.data(), rows.size(), m}, ref.data(), {});
      CHECK(close(r.hypervolume, expected));
      std::size_t outside = 0;
      for (const auto& row : rows) outside += std::any_of(row.begin(), row.end(), [&](double v) { return v <= ref[0]; });
      CHECK(r.dropped == outside);
      // Each point's exclusive contribution, HV(S) - HV(S \ {p}).
      const std::vector<double> c = hypervolume_contributions(Points{x.data(), rows.size(), m}, ref.data(), {});
      for (std::size_t j = 0; j < rows.size(); ++j) {
        Rows rest = rows;
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(j));
        CHECK(std::abs(c[j] - (expected - inclusion_exclusion(rest, ref))) <= 1e-12);
      }
    }
  }
  // Minimisation flips points and reference point together.
  const std::vector<double> pts{1, 3, 2, 2, 3, 1}, ref{4, 4};
  CHECK(close(hypervolume(Points{pts.data(), 3, 2}, ref.data(), MinimiseMask{1, 1}).hypervolume, 6.0));
}

// m = 5 by slicing along q5 with the 4-D kernel: the sum over the distinct q5 levels h above the
// ref, ascending, of (h - the previous level) * HV4(the first four coordinates of the rows with
// q5 >= h). Independent of the 5-D sweep, and fine for sets far beyond inclusion-exclusion.
double hv5_by_slices(const Rows& rows, const std::vector<double>& ref) {
  std::vector<double> levels;
  for (const auto& r : rows)
    if (r[4] > ref[4]) levels.push_back(r[4]);
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  double total = 0, below = ref[4];
  for (double h : levels) {
    std::vector<double> slice;
    for (const auto& r : rows)
      if (r[4] >= h) slice.insert(slice.end(), r.begin(), r.begin() + 4);
    total += (h - below) * hypervolume(Points{slice.data(), slice.size() / 4, 4}, ref.data(), {}).hypervolume;
    below = h;
  }
  return total;
}

// The 5-D sweep against slicing on 20..197 rows: uniform sets (dominated rows), fronts (rows
// scaled onto the simplex), integer grids with duplicates (exact), and integer fronts (ties).
void moo_hypervolume_5d_slices() {
  std::mt19937_64 g(11);
  for (int trial = 0; trial < 60; ++trial) {
    const bool integers = trial % 2 == 1;
    Rows rows = random_rows(g, 20 + 3 * static_cast<std::size_t>(trial), 5, integers);
    if (trial % 4 >= 2) {
      for (auto& r : rows) {
        double sum = 0;
        for (double v : r) sum += v;
        for (double& v : r) v = sum == 0 ? 0 : integers ? std::floor(v / sum * 8) : v / sum;
      }
    }
    if (integers)
      for (int k = 0; k < 5; ++k) rows.push_back(rows[g() % rows.size()]);
    const std::vector<double> ref(5, integers ? -1.0 : 0.0);
    const std::vector<double> x = flat(rows);
    const double got = hypervolume(Points{x.data(), rows.size(), 5}, ref.data(), {}).hypervolume;
    const double want = hv5_by_slices(rows, ref);
    if (integers) CHECK(got == want);  // every intermediate is a small integer
    else CHECK(close(got, want));
  }
  // A set whose clipped base has runs of equal q3 above the lowest level, for some points: they
  // must enter the base in (q2, q1) order. Every row order (the sorts' tie orders vary with it).
  Rows tied{{3, 2, 1, 1, 1}, {2, 2, 2, 3, 2}, {2, 1, 2, 3, 3}, {3, 2, 3, 2, 1}, {2, 3, 2, 1, 2}, {3, 1, 2, 2, 2}};
  const std::vector<double> origin(5, 0.0);
  const double want = inclusion_exclusion(tied, origin);
  std::sort(tied.begin(), tied.end());
  do {
    const std::vector<double> x = flat(tied);
    CHECK(hypervolume(Points{x.data(), tied.size(), 5}, origin.data(), {}).hypervolume == want);
  } while (std::next_permutation(tied.begin(), tied.end()));
}

// Hypervolume by slicing along the last coordinate down to a 1-D maximum, with std::sort: an
// independent reference for sets far beyond inclusion-exclusion (O(n^(m-1) log n)).
double hv_by_slices(const Rows& rows, const std::vector<double>& ref) {
  const std::size_t m = ref.size();
  if (m == 1) {
    double best = ref[0];
    for (const auto& r : rows) best = std::max(best, r[0]);
    return best - ref[0];
  }
  std::vector<double> levels;
  for (const auto& r : rows)
    if (r[m - 1] > ref[m - 1]) levels.push_back(r[m - 1]);
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  const std::vector<double> lower(ref.begin(), ref.end() - 1);
  double total = 0, below = ref[m - 1];
  for (double h : levels) {
    Rows slice;
    for (const auto& r : rows)
      if (r[m - 1] >= h) slice.emplace_back(r.begin(), r.end() - 1);
    total += (h - below) * hv_by_slices(slice, lower);
    below = h;
  }
  return total;
}

// The presort and the staircases on larger fronts than the oracle's: 2-D to 4-D against slicing,
// on both sides of hv3d's bit/tree staircase switch (254 points), on integer grids (exact, duplicates
// included), and on coordinates 1 + k ulp that differ only in their last bits, which the presort's
// integer keys cannot tell apart and must re-sort exactly.
void moo_hypervolume_presort() {
  std::mt19937_64 g(17);
  // The presort itself against std::sort: values descending, then rows descending.
  // Sizes on both sides of each bitonic register count (16, 32, 64, 128 keys), the merges and
  // the radix sort. Kinds: uniform, few values, 1 + k ulp, signs and signed zeros, and 1 + k 2^-20,
  // which the bitonic's 32-bit keys mostly cannot tell apart (runs to re-sort) but 64-bit ones can.
  for (std::size_t n : {1, 2, 7, 8, 9, 16, 17, 32, 33, 64, 65, 100, 128, 129, 600, 1023, 1024, 5000}) {
    for (int kind = 0; kind < 5; ++kind) {
      std::vector<double> v(3 * n);
      std::uniform_int_distribution<int> k(0, kind == 1 ? 3 : 300);
      for (double& x : v) {
        x = kind == 0   ? 0.5 + std::uniform_real_distribution<double>(0, 1)(g)
            : kind == 3 ? std::array<double, 5>{-1.5, -0.0, 0.0, 2.0, -0x1p-1074}[g() % 5]
            : kind == 4 ? (g() % 2 ? 1 : -1) * (1 + k(g) * 0x1p-20)
                        : 1 + k(g) * 0x1p-52;
      }
      std::vector<std::uint32_t> got, want(n);
      descending_order(v.data() + 1, n, 3, got);
      std::iota(want.begin(), want.end(), 0u);
      std::sort(want.begin(), want.end(), [&](std::uint32_t a, std::uint32_t b) {
        return v[3 * a + 1] > v[3 * b + 1] || (v[3 * a + 1] == v[3 * b + 1] && a > b);
      });
      CHECK(got == want);
    }
  }
  const std::vector<double> origin(4, 0.0);
  for (std::size_t m = 2; m <= 4; ++m) {
    for (std::size_t n : {std::size_t{9}, std::size_t{100}, std::size_t{254}, std::size_t{255}, std::size_t{400}, std::size_t{2000}}) {
      if ((m == 4 && n > 100) || (m == 3 && n > 400)) continue;  // the reference is O(n^(m-1) log n)
      for (int kind = 0; kind < 3; ++kind) {
        Rows rows = random_rows(g, n, m, kind == 1);
        if (kind == 0) {  // a front: rows scaled onto the simplex
          for (auto& r : rows) {
            double sum = 0;
            for (double v : r) sum += v;
            for (double& v : r) v /= sum;
          }
        } else if (kind == 2) {
          std::uniform_int_distribution<int> k(0, 40);
          for (auto& r : rows)
            for (double& v : r) v = 1 + k(g) * 0x1p-52;
        }
        const std::vector<double> ref(origin.begin(), origin.begin() + static_cast<std::ptrdiff_t>(m));
        const std::vector<double> x = flat(rows);
        const double got = hypervolume(Points{x.data(), n, m}, ref.data(), {}).hypervolume;
        const double want = hv_by_slices(rows, ref);
        if (kind == 1) CHECK(got == want);  // small integers: every step is exact
        else CHECK(close(got, want));
      }
    }
  }
}

// The 4-D kernels against slicing: fronts of 2..128 points (continuous on the simplex; integer
// grids with duplicates, ties in every coordinate and points on the reference's boundary, which
// must come out exact), and sets built so that every point's box holds a long staircase of seen
// points: 2h points, h of them an anti-diagonal (i, h + 1 - i) at a common high z, the others
// boxes holding all of it at rising z. On AVX-512 CPUs (hv4d_avx512_kernel.inc) h = 8, 12 keep the
// staircase in two registers, h = 16 takes it to arrays and h >= 20 runs past the work budget,
// so that HV4D+ computes the set; elsewhere all of them are HV4D+'s. Both builds of the AVX-512
// kernel (hv4d_avx512.cpp) run on every set the CPU can run them on, called directly: each must
// give the reference's value (or give up, on the long staircases), and the two the same bits.
void moo_hypervolume_4d() {
  std::mt19937_64 g(23);
  const std::vector<double> origin(4, 0.0);
  const auto check_kernel_builds = [&origin](const std::vector<double>& x, double want, bool exact) {
    if (!cpu_has_avx512vl_dq_bw()) return;
    std::vector<double> q;  // the kernels take the rows hypervolume() gives them: shifted, each coordinate > 0
    shift_to_origin(Points{x.data(), x.size() / 4, 4}, origin.data(), {}, q);
    const std::size_t n = q.size() / 4;
    if (n == 0) return;
    double skylake = 0, icelake = 0;
    const bool finished = hv4d_avx512_skylake(q.data(), n, skylake);
    if (finished) CHECK(exact ? skylake == want : close(skylake, want));
    if (!cpu_has_avx512_vpopcntdq()) return;
    CHECK(hv4d_avx512_icelake(q.data(), n, icelake) == finished);
    if (finished) CHECK(icelake == skylake);
  };
  for (std::size_t n : {2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 127, 128}) {
    for (int kind = 0; kind < 3; ++kind) {  // front, integer grid, integer front
      for (int trial = 0; trial < 3; ++trial) {
        Rows rows = random_rows(g, n, 4, kind != 0);
        if (kind != 1) {
          for (auto& r : rows) {
            double sum = 0;
            for (double v : r) sum += v;
            for (double& v : r) v = sum == 0 ? 0 : kind == 0 ? v / sum : std::floor(v / sum * 6);
          }
        }
        const std::vector<double> x = flat(rows);
        const double got = hypervolume(Points{x.data(), n, 4}, origin.data(), {}).hypervolume;
        const double want = hv_by_slices(rows, origin);
        if (kind == 0) CHECK(close(got, want));
        else CHECK(got == want);  // small integers: every step is exact
        check_kernel_builds(x, want, kind != 0);
      }
    }
  }
  for (double h : {4, 8, 12, 16, 20, 64}) {
    Rows rows;
    for (double i = 1; i <= h; ++i) rows.push_back({i, h + 1 - i, 10 * h, 10 * h + i});
    for (double j = 1; j <= h; ++j) rows.push_back({2 * h + j, 3 * h - j, j, h + 1 - j});
    std::shuffle(rows.begin(), rows.end(), g);
    const std::vector<double> x = flat(rows);
    const double want = hv_by_slices(rows, origin);
    CHECK(hypervolume(Points{x.data(), rows.size(), 4}, origin.data(), {}).hypervolume == want);
    check_kernel_builds(x, want, true);
  }
}

std::vector<std::int32_t> brute_force_ranks(const Rows& rows) {
  const std::size_t n = rows.size();
  std::vector<std::int32_t> rank(n, 0);
  const auto dominates = [](const std::vector<double>& a, const std::vector<double>& b) {
    bool strict = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i] < b[i]) return false;
      strict |= a[i] > b[i];
    }
    return strict;
  };
  for (std::int32_t f = 1, left = static_cast<std::int32_t>(n); left > 0; ++f) {
    std::vector<std::size_t> front;
    for (std::size_t i = 0; i < n; ++i) {
      if (rank[i]) continue;
      bool dominated = false;
      for (std::size_t j = 0; j < n && !dominated; ++j) dominated = !rank[j] && dominates(rows[j], rows[i]);
      if (!dominated) front.push_back(i);
    }
    for (std::size_t i : front) rank[i] = f;
    left -= static_cast<std::int32_t>(front.size());
  }
  return rank;
}

void moo_ranks_bruteforce() {
  std::mt19937_64 g(11);
  // Signed zeros are one value: the presort's integer keys must not split -0 from +0.
  for (std::size_t m : {2, 3}) {
    for (int trial = 0; trial < 20; ++trial) {
      Rows rows(60, std::vector<double>(m));
      for (auto& r : rows)
        for (double& v : r) v = std::array<double, 4>{-1.0, -0.0, 0.0, 1.0}[g() % 4];
      const std::vector<double> x = flat(rows);
      CHECK(pareto_ranks(Points{x.data(), rows.size(), m}, {}) == brute_force_ranks(rows));
    }
  }
  for (std::size_t m = 1; m <= 5; ++m) {
    for (int trial = 0; trial < 40; ++trial) {
      const Rows rows = random_rows(g, 1 + (trial * 37) % 300, m, trial % 2 == 0);
      const std::vector<double> x = flat(rows);
      const std::vector<std::int32_t> full = brute_force_ranks(rows);
      CHECK(pareto_ranks(Points{x.data(), rows.size(), m}, {}) == full);
      // The early stop (fronts stop being built during the sweep) keeps exactly the fronts up to
      // the one that reaches the count.
      for (std::size_t stop : {std::size_t{1}, rows.size() / 3, rows.size() - 1, rows.size() + 5}) {
        if (stop == 0) continue;
        std::vector<std::int32_t> want = full;
        std::int32_t keep = *std::max_element(full.begin(), full.end());
        for (std::int32_t f = 1, count = 0; f <= keep; ++f) {
          count += static_cast<std::int32_t>(std::count(full.begin(), full.end(), f));
          if (static_cast<std::size_t>(count) >= stop) keep = f;
        }
        for (std::int32_t& r : want) r = r <= keep ? r : 0;
        CHECK(pareto_ranks(Points{x.data(), rows.size(), m}, {}, RankOptions{stop, 0}) == want);
      }
    }
  }
}

// ParetoHqD selection against a literal reading of paretohqd.md §2–5: brute-force ranks, layers by
// the N_min rule (or fixed), bounds (sorted-column quantiles, or opts' fixed ones), distances to
// every candidate, then a full sort by (d, front, row).
PreferenceSelection reference_selection(const Rows& rows, const std::vector<double>& w, const SelectOptions& opts,
                                        std::size_t* layers_out) {
  const std::size_t n = rows.size(), m = w.size();
  const std::vector<std::int32_t> rank = brute_force_ranks(rows);
  std::int32_t fronts = *std::max_element(rank.begin(), rank.end());
  std::int32_t L = fronts;
  if (opts.layers > 0) L = std::min<std::int32_t>(fronts, static_cast<std::int32_t>(opts.layers));
  else {
    std::size_t count = 0;
    for (std::int32_t f = 1; f <= fronts; ++f) {
      count += static_cast<std::size_t>(std::count(rank.begin(), rank.end(), f));
      if (count >= opts.pool_min) {
        L = f;
        break;
      }
    }
  }
  *layers_out = static_cast<std::size_t>(L);
  std::vector<double> lo(m), hi(m);
  for (std::size_t i = 0; i < m; ++i) {
    std::vector<double> col;
    for (const auto& r : rows) col.push_back(r[i]);
    std::sort(col.begin(), col.end());
    const auto q = [&](double p) {  // numpy 'linear'
      const double v = static_cast<double>(n - 1) * p;
      if (v >= static_cast<double>(n - 1)) return col[n - 1];
      const std::size_t j = static_cast<std::size_t>(v);
      const double t = v - static_cast<double>(j), d = col[j + 1] - col[j];
      return t >= 0.5 ? col[j + 1] - d * (1 - t) : col[j] + d * t;
    };
    lo[i] = opts.fixed_lo.empty() ? q(opts.lower_quantile) : opts.fixed_lo[i];
    hi[i] = opts.fixed_hi.empty() ? q(opts.upper_quantile) : opts.fixed_hi[i];
  }
  double norm = 0;
  for (double x : w) norm += (x - 1) * (x - 1);
  norm = std::sqrt(norm);
  struct Entry {
    double d;
    std::int32_t front;
    std::uint32_t row;
  };
  std::vector<Entry> all;
  for (std::size_t j = 0; j < n; ++j) {
    if (rank[j] > L) continue;
    std::vector<double> v(m);
    for (std::size_t i = 0; i < m; ++i) v[i] = std::min(1.0, std::max(0.0, (rows[j][i] - lo[i]) / (hi[i] - lo[i]))) - 1;
    double t = 0;
    for (std::size_t i = 0; i < m; ++i) t += v[i] * ((w[i] - 1) / norm);
    double e2 = 0;
    for (std::size_t i = 0; i < m; ++i) e2 += (v[i] - t * ((w[i] - 1) / norm)) * (v[i] - t * ((w[i] - 1) / norm));
    const double d = opts.distance == RayDistance::Angular ? std::atan2(std::sqrt(e2), t) : std::sqrt(e2);
    all.push_back({d, rank[j], static_cast<std::uint32_t>(j)});
  }
  std::sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) {
    return a.d != b.d ? a.d < b.d : a.front != b.front ? a.front < b.front : a.row < b.row;
  });
  PreferenceSelection s;
  for (std::size_t a = 0; a < std::min(opts.k, all.size()); ++a) {
    s.rows.push_back(all[a].row);
    s.distances.push_back(all[a].d);
    s.fronts.push_back(all[a].front);
  }
  return s;
}

void moo_select_bruteforce() {
  std::mt19937_64 g(13);
  const std::vector<std::vector<double>> prefs2{{0, 1}, {0.3, 0.7}, {0.5, 0.5}, {1, 0}};
  const std::vector<std::vector<double>> prefs3{{0, 0, 1}, {0.2, 0.2, 0.6}, {1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.8, 0.1, 0.1}};
  for (std::size_t m : {2, 3, 4}) {
    const auto& prefs = m == 2 ? prefs2 : m == 3 ? prefs3 : std::vector<std::vector<double>>{{0.25, 0.25, 0.25, 0.25}, {0.5, 0.25, 0.125, 0.125}};
    std::vector<double> flat_prefs;
    for (const auto& w : prefs) flat_prefs.insert(flat_prefs.end(), w.begin(), w.end());
    for (int trial = 0; trial < 24; ++trial) {
      Rows rows = random_rows(g, 20 + (trial * 53) % 250, m, trial % 3 == 0);
      for (int dup = 0; dup < 5; ++dup) rows.push_back(rows[static_cast<std::size_t>(dup * 7) % rows.size()]);
      const std::vector<double> x = flat(rows);
      SelectOptions opts;
      opts.k = 1 + static_cast<std::size_t>(trial * 7) % 40;
      opts.distance = trial % 2 ? RayDistance::Angular : RayDistance::Perpendicular;
      if (trial % 4 == 1) opts.layers = 1 + static_cast<std::size_t>(trial) % 5;
      else opts.pool_min = 10 + static_cast<std::size_t>(trial * 11) % 120;
      if (trial % 5 == 2) {
        opts.lower_quantile = 0.1;
        opts.upper_quantile = 0.85;
      }
      const Selection got = select_pareto_hq(Points{x.data(), rows.size(), m}, Points{flat_prefs.data(), prefs.size(), m}, opts);
      for (std::size_t p = 0; p < prefs.size(); ++p) {
        std::size_t layers = 0;
        const PreferenceSelection want = reference_selection(rows, prefs[p], opts, &layers);
        CHECK(got.layers == layers);
        CHECK(got.per_preference[p].rows == want.rows);
        CHECK(got.per_preference[p].fronts == want.fronts);
        for (std::size_t a = 0; a < want.rows.size() && a < got.per_preference[p].distances.size(); ++a)
          CHECK(std::abs(got.per_preference[p].distances[a] - want.distances[a]) <= 1e-15);
      }
      std::size_t in_layers = 0;
      for (std::int32_t r : got.ranks) in_layers += r > 0;
      CHECK(got.candidates == in_layers);
      CHECK(got.fewer_than_k == (in_layers < opts.k));
    }
  }
  // Errors name the problem: a constant objective, a preference that does not sum to 1, m = 1.
  const std::vector<double> flat_pool{1, 5, 2, 5, 3, 5}, good{0.5, 0.5}, bad{0.5, 0.6};
  SelectOptions named;
  named.objective_names = {"helpful", "harmless"};
  CHECK(expect_throw<InvalidArgument>([&] { select_pareto_hq(Points{flat_pool.data(), 3, 2}, Points{good.data(), 1, 2}, named); })
            .find("objective 1 (\"harmless\") is constant") != std::string::npos);
  const std::vector<double> spread{1, 5, 2, 4, 3, 6};
  CHECK(expect_throw<InvalidArgument>([&] { select_pareto_hq(Points{spread.data(), 3, 2}, Points{bad.data(), 1, 2}, {}); })
            .find("preference 0 sums to 1.1, not 1 (tolerance 1e-6)") != std::string::npos);
  CHECK(expect_throw<InvalidArgument>([&] { select_pareto_hq(Points{spread.data(), 6, 1}, Points{good.data(), 2, 1}, {}); })
            .find("at least two") != std::string::npos);
  // Too small a pool for N_min or k: all of it, flagged.
  SelectOptions big_k;
  big_k.k = 10;
  const Selection small = select_pareto_hq(Points{spread.data(), 3, 2}, Points{good.data(), 1, 2}, big_k);
  CHECK(small.pool_short && small.fewer_than_k && small.candidates == 3 && small.per_preference[0].rows.size() == 3);
  CHECK(small.pool_min == 5000);
}

// Fixed bounds (SelectOptions::fixed_lo/hi): the pool's own min/max reproduce 'minmax' bit for bit;
// other bounds match the brute-force reference, and a hand-computed pool shows wider bounds
// shrinking the distances and narrower ones clamping. Bad bounds are errors naming the objective.
void moo_select_fixed_bounds() {
  std::mt19937_64 g(29);
  const std::vector<double> prefs{0, 1, 0.3, 0.7, 0.5, 0.5, 1, 0};  // (4, 2)
  for (int trial = 0; trial < 12; ++trial) {
    const Rows rows = random_rows(g, 30 + static_cast<std::size_t>(trial) * 17, 2, trial % 3 == 0);
    const std::vector<double> x = flat(rows);
    const Points pool{x.data(), rows.size(), 2}, omega{prefs.data(), 4, 2};
    SelectOptions minmax;
    minmax.k = 1 + static_cast<std::size_t>(trial) * 3;
    minmax.pool_min = 20;
    const Selection want = select_pareto_hq(pool, omega, minmax);
    SelectOptions fixed = minmax;
    fixed.fixed_lo = want.lo;
    fixed.fixed_hi = want.hi;
    const Selection got = select_pareto_hq(pool, omega, fixed);
    CHECK(got.lo == want.lo && got.hi == want.hi && got.ranks == want.ranks);
    for (std::size_t p = 0; p < 4; ++p) {
      CHECK(got.per_preference[p].rows == want.per_preference[p].rows);
      CHECK(got.per_preference[p].distances == want.per_preference[p].distances);  // exactly: the same r̂
      CHECK(got.per_preference[p].fronts == want.per_preference[p].fronts);
    }
    // Bounds that do not come from this pool: wider on one side, narrower (clamping) on the other.
    SelectOptions other = minmax;
    other.fixed_lo = {want.lo[0] - 0.5, want.lo[1] + 0.2};
    other.fixed_hi = {want.hi[0] + 1.0, want.hi[1] - 0.1};
    const Selection shifted = select_pareto_hq(pool, omega, other);
    CHECK(shifted.lo == other.fixed_lo && shifted.hi == other.fixed_hi);
    for (std::size_t p = 0; p < 4; ++p) {
      std::size_t layers = 0;
      const PreferenceSelection ref = reference_selection(rows, {prefs[2 * p], prefs[2 * p + 1]}, other, &layers);
      CHECK(shifted.per_preference[p].rows == ref.rows);
      for (std::size_t a = 0; a < ref.rows.size() && a < shifted.per_preference[p].distances.size(); ++a)
        CHECK(std::abs(shifted.per_preference[p].distances[a] - ref.distances[a]) <= 1e-15);
    }
  }

  // By hand: three non-dominated points, ω = (0.5, 0.5), ray direction u = -(1, 1)/√2.
  //   min/max bounds [0, 1]²: (0, 1) -> v = (-1, 0), d = ||v - (v·u)u|| = √2/2; (0.5, 0.5) on the ray
  //   bounds [-1, 1]²:        (0, 1) -> r̂ = (0.5, 1), v = (-0.5, 0), d = √2/4 (half); (0.5, 0.5) -> 0
  //   bounds [0.25, 0.75]²:   (0, 1) clamps to r̂ = (0, 1): d = √2/2 again
  const std::vector<double> three{0, 1, 1, 0, 0.5, 0.5}, centre{0.5, 0.5};
  const Points hand{three.data(), 3, 2}, w{centre.data(), 1, 2};
  SelectOptions opts;
  opts.k = 3;
  const auto distances = [&](std::vector<double> lo, std::vector<double> hi) {
    SelectOptions o = opts;
    o.fixed_lo = std::move(lo);
    o.fixed_hi = std::move(hi);
    const PreferenceSelection s = select_pareto_hq(hand, w, o).per_preference[0];
    CHECK(s.rows == (std::vector<std::uint32_t>{2, 0, 1}));  // the centre, then the tie by row
    return s.distances;
  };
  const auto near = [](const std::vector<double>& got, const std::vector<double>& want) {
    bool ok = got.size() == want.size();
    for (std::size_t a = 0; ok && a < want.size(); ++a) ok = std::abs(got[a] - want[a]) <= 1e-15;
    return ok;
  };
  const double half = std::sqrt(2.0) / 2;
  CHECK(near(distances({0, 0}, {1, 1}), {0, half, half}));
  CHECK(near(distances({-1, -1}, {1, 1}), {0, half / 2, half / 2}));
  CHECK(near(distances({0.25, 0.25}, {0.75, 0.75}), {0, half, half}));

  // Errors name the problem and the objective.
  SelectOptions bad = opts;
  bad.objective_names = {"helpful", "harmless"};
  const auto error = [&](std::vector<double> lo, std::vector<double> hi, double upper_quantile = 1) {
    bad.fixed_lo = std::move(lo);
    bad.fixed_hi = std::move(hi);
    bad.upper_quantile = upper_quantile;
    return expect_throw<InvalidArgument>([&] { select_pareto_hq(hand, w, bad); });
  };
  CHECK(error({0}, {1, 1}).find("fixed bounds hold 1 lo and 2 hi values for 2 objectives") != std::string::npos);
  CHECK(error({0, 0}, {}).find("fixed bounds hold 2 lo and 0 hi values") != std::string::npos);
  CHECK(error({0, NAN}, {1, 1}).find("objective 1 (\"harmless\"): fixed bounds lo NaN, hi 1: both must be finite") != std::string::npos);
  CHECK(error({0, 0}, {INFINITY, 1}).find("objective 0 (\"helpful\")") != std::string::npos);
  CHECK(error({0, 1}, {1, 1}).find("objective 1 (\"harmless\"): fixed bounds lo 1, hi 1: hi must be above lo") != std::string::npos);
  CHECK(error({2, 0}, {1, 1}).find("objective 0 (\"helpful\"): fixed bounds lo 2, hi 1: hi must be above lo") != std::string::npos);
  CHECK(error({0, 1}, {1, 1 + 1e-14}).find("too close together") != std::string::npos);
  CHECK(error({0, 0}, {1, 1}, 0.9).find("exclude each other") != std::string::npos);
}

struct Batch {
  std::vector<double> data;
  std::vector<std::int32_t> offsets{0};
  std::vector<double> ref;
  FrontBatch view(std::size_t m) const {
    return FrontBatch{data.data(), offsets.data(), offsets.size() - 1, data.size() / m, m, ref.data(), false};
  }
};

Batch random_batch(std::mt19937_64& g, std::size_t fronts, std::size_t max_n, std::size_t m) {
  Batch b;
  std::uniform_int_distribution<std::size_t> size(0, max_n);
  for (std::size_t f = 0; f < fronts; ++f) {
    const Rows rows = random_rows(g, size(g), m, f % 3 == 0);
    for (const auto& r : rows) b.data.insert(b.data.end(), r.begin(), r.end());
    b.offsets.push_back(b.offsets.back() + static_cast<std::int32_t>(rows.size()));
  }
  b.ref.assign(m, 0.0);
  return b;
}

// Every batch value equals the single-front value bit for bit, for 1, 2 and 3 threads (3-D
// fronts on both sides of hv3d's bit/tree staircase switch; 4-D fronts of up to 130 points).
void moo_batch_threads() {
  std::mt19937_64 g(3);
  CancelToken never;
  for (std::size_t m = 2; m <= 5; ++m) {
    const Batch b = random_batch(g, 200, m <= 3 ? 320 : m == 4 ? 130 : 40, m);
    for (int threads : {1, 2, 3}) {
      const BatchResult r = on_compute_thread([&] {
        set_num_threads(threads);
        return hypervolume_batch(b.view(m), {}, never);
      });
      for (std::size_t f = 0; f + 1 < b.offsets.size(); ++f) {
        const HypervolumeResult one = hypervolume(b.view(m).front(f), b.ref.data(), {});
        CHECK(std::memcmp(&one.hypervolume, &r.hypervolume[f], sizeof(double)) == 0);
        CHECK(static_cast<std::size_t>(r.dropped[f]) == one.dropped);
      }
    }
  }
  on_compute_thread([] { set_num_threads(1); });
}

// The tensor form (CPU here; CUDA too when this libtorch has it) against the sweeps.
void moo_batch_tensor() {
  std::mt19937_64 g(5);
  CancelToken never;
  std::vector<std::string> devices{"cpu"};
  if (at::hasCUDA()) devices.push_back("cuda");
  else std::printf("moo_batch_tensor: CUDA part skipped: this libtorch has no CUDA or no GPU is visible\n");
  for (std::size_t m : {2, 3}) {
    const Batch b = random_batch(g, 120, 60, m);
    const BatchResult sweep = on_compute_thread([&] { return hypervolume_batch(b.view(m), {}, never); });
    for (const std::string& device : devices) {
      const BatchResult t = on_compute_thread([&] { return hypervolume_batch_tensor(b.view(m), {}, device, never); });
      for (std::size_t f = 0; f < sweep.hypervolume.size(); ++f) {
        CHECK(close(t.hypervolume[f], sweep.hypervolume[f]));
        CHECK(t.dropped[f] == sweep.dropped[f]);
      }
    }
  }
  const Batch four = random_batch(g, 3, 5, 4);
  CHECK(expect_throw<InvalidArgument>([&] { hypervolume_batch_tensor(four.view(4), {}, "cpu", never); }).find("2 and 3") != std::string::npos);
}

// Not a ctest case: times 1,000 fronts of 100 non-dominated points, CPU sweeps on every thread
// against the tensor path on each device, and checks the values agree.
void moo_gpu_bench() {
  std::mt19937_64 g(1);
  std::exponential_distribution<double> e(1.0);
  CancelToken never;
  for (std::size_t m : {2, 3, 4}) {
    Batch b;
    for (int f = 0; f < 1000; ++f) {
      for (int j = 0; j < 100; ++j) {
        double row[4], s = 0;
        for (std::size_t i = 0; i < m; ++i) s += row[i] = e(g);
        for (std::size_t i = 0; i < m; ++i) b.data.push_back(1.1 - row[i] / s);  // a linear front, maximised, ref 0
      }
      b.offsets.push_back(b.offsets.back() + 100);
    }
    b.ref.assign(m, 0.0);
    const auto time = [&](auto&& run) {
      run();
      double best = 1e30;
      for (int r = 0; r < 5; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      return best;
    };
    if (const char* wanted = std::getenv("MOO_BENCH_THREADS")) on_compute_thread([&] { set_num_threads(std::atoi(wanted)); });
    const int threads = on_compute_thread([] { return at::get_num_threads(); });
    BatchResult cpu;
    const double cpu_ms = time([&] { cpu = on_compute_thread([&] { return hypervolume_batch(b.view(m), {}, never); }); });
    std::printf("moo_gpu_bench m=%zu fronts=1000 n=100: cpu sweeps (%d threads) %.3f ms\n", m, threads, cpu_ms);
    for (std::string device : {"cpu", "cuda"}) {
      if (m > 3 || (device == "cuda" && !at::hasCUDA())) continue;
      BatchResult t;
      const double ms = time([&] { t = on_compute_thread([&] { return hypervolume_batch_tensor(b.view(m), {}, device, never); }); });
      double worst = 0;
      for (std::size_t f = 0; f < 1000; ++f) worst = std::max(worst, std::abs(t.hypervolume[f] - cpu.hypervolume[f]) / cpu.hypervolume[f]);
      std::printf("moo_gpu_bench m=%zu tensor %s %.3f ms (max rel diff %.2e)\n", m, device.c_str(), ms, worst);
    }
  }
}

}  // namespace

const std::map<std::string, std::function<void()>>& moo_test_cases() {
  static const std::map<std::string, std::function<void()>> cases{
      {"moo_hypervolume_oracle", moo_hypervolume_oracle},
      {"moo_hypervolume_5d_slices", moo_hypervolume_5d_slices},
      {"moo_hypervolume_presort", moo_hypervolume_presort},
      {"moo_hypervolume_4d", moo_hypervolume_4d},
      {"moo_ranks_bruteforce", moo_ranks_bruteforce},
      {"moo_select_bruteforce", moo_select_bruteforce},
      {"moo_select_fixed_bounds", moo_select_fixed_bounds},
      {"moo_batch_threads", moo_batch_threads},
      {"moo_batch_tensor", moo_batch_tensor},
      {"moo_gpu_bench", moo_gpu_bench},
  };
  return cases;
}
