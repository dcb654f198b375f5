// m = 4: HV4D+ (hv4d_plus.h). Sweep the points by the 4th coordinate, keeping V = the 3-D volume
// dominated by the (x, y, z) projections seen so far: HV = sum_j V_j * height_j. The first
// w-group is the sweep's base (one z-sweep); every later point adds its exclusive 3-D contribution.
// On CPUs with AVX-512, fronts of up to kHv4dAvx512MaxPoints points take the same sweep over flat
// arrays instead (hv4d_avx512_kernel.inc).
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "descending_order.h"
#include "hv4d_avx512.h"
#include "hv4d_plus.h"
#include "hv_kernels.h"

namespace moalign::moo {

namespace {

using hv4dplus::Node;

// The base from nodes[3 .. 3 + count), which all share one w, sorted into (z, y, x) order.
double build_base(hv4dplus::Sweep& sweep, std::size_t count) {
  struct Key {
    double z, y, x;
    Node* node;
  };
  thread_local std::vector<Key> order;
  order.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    Node* p = sweep.first() + i;
    order[i] = {p->z, p->y, p->x, p};
  }
  std::sort(order.begin(), order.end(), [](const Key& a, const Key& b) { return hv4dplus::lex_zyx_less(a, b); });
  sweep.begin_base();
  for (const Key& k : order) sweep.add_next(k.node);
  return sweep.end_base();
}

// hv4d of rows already sorted by q4 descending.
double hv4d_sorted(const double* q, std::size_t n) {
  if (n == 0) return 0;
  thread_local hv4dplus::Sweep sweep;
  sweep.reset(n);
  Node* nodes = sweep.first();
  for (std::size_t t = 0; t < n; ++t) {
    const double* r = q + 4 * t;
    nodes[t].x = -r[0];
    nodes[t].y = -r[1];
    nodes[t].z = -r[2];
    nodes[t].w = -r[3];
  }
  auto w_after = [&](std::size_t t) { return t + 1 < n ? -q[4 * t + 7] : 0.0; };
  std::size_t base = 1;
  while (base < n && q[4 * base + 3] == q[3]) ++base;
  double volume = build_base(sweep, base);
  double hv = volume * (w_after(base - 1) + q[3]);
  for (std::size_t t = base; t < n; ++t) {
    volume += sweep.add(&nodes[t]);
    hv += volume * (w_after(t) - nodes[t].w);
  }
  return hv;
}

}  // namespace

double hv4d(double* q, std::size_t n) {
  double hv;
  if (use_hv4d_avx512(n) && hv4d_avx512(q, n, hv)) return hv;
  // Ties in q4 may come in any order: a point processed before one that dominates it is dropped
  // from the z-list when the dominating one arrives, and the volume is the same.
  thread_local std::vector<std::uint32_t> order;
  thread_local std::vector<std::array<double, 4>> rows;
  descending_order(q + 3, n, 4, order);
  rows.resize(n);
  for (std::size_t t = 0; t < n; ++t) {
    const double* r = q + 4 * order[t];
    rows[t] = {r[0], r[1], r[2], r[3]};
  }
  return hv4d_sorted(rows.data()->data(), n);
}

}  // namespace moalign::moo
