// m = 4 on CPUs with AVX-512, up to kHv4dAvx512MaxPoints points: the HV4D+ sweep's sum (points
// by q4 descending, V += each point's exclusive 3-D contribution, HV = sum V_j (q4_j - q4_j+1)),
// with each contribution found from flat arrays by vector passes instead of linked lists.
// HV4D+ walked ≈35 list nodes per point of a 100-point front at ≈28 cycles each (dependent loads,
// mispredicted branches); here the seen points are three arrays sorted by z, read 8 at a time.
//
// The seen points S are kept 3-D non-dominated (a point weakly dominated by a seen one adds
// nothing and stays out; seen points the new one weakly dominates leave). Coordinates are the
// shifted maximisation ones (reference 0, all > 0); x y z are q1..q3. p's exclusive volume is
//   integral over z' in (0, pz] of the area of p's (x, y) box left uncovered by the boxes of the
//   seen points with z >= z', clipped to p's box.
// One pass over S, z descending, classifies each seen point s by its clipped box:
//  - full cover (s.x >= px and s.y >= py): covers the whole box below s.z. The first one in z
//    order ends the sweep; if its z >= pz, p is dominated.
//  - x band (s.x >= px, s.y < py): covers the strip y <= s.y, all x; y band likewise. Only the
//    running maxima MY, MX of the bands matter, so a band point is an event only when it raises one.
//  - interior (s.x < px, s.y < py): a step of a 2-D staircase inside the box. One that a band
//    already covers stays covered further down (the bands only grow) and is skipped.
// The seen points with z >= pz (the prefix "T") all act at z = pz: their bands set the starting
// MX, MY and their interior points the starting staircase. The rest come one by one.
// The uncovered area is then sum over staircase steps of (width of the step within [MX, px]) x
// (py - max(step y, MY))^+, one vector expression over the staircase, never a difference of areas.
//
// Why no staircase insertion needs a dominance test: points enter it in z-descending order, and
// an earlier step weakly dominating a later point in (x, y) would weakly dominate it in 3-D,
// which S excludes. So an insertion only removes the steps the new point covers and places it.
// The staircase lives in one register of 8 lanes while it has at most 7 steps (lanes past the
// steps hold the sentinel (px, 0)), in two registers up to 15 steps, and in arrays beyond
// (rare: 0 of 100,000 points of the bench's fronts, ≈0.1% at n = 254); past a work budget the
// kernel gives up and hv4d runs HV4D+ (see kWideWorkPerPointSquared).
//
// Measured against HV4D+ on this project's machine (Zen 4, 1 thread): 1,000 fronts of 100 points
// 29.5 → 11.3–11.5 ms, one front of 1,000 points 0.70 → 0.28 ms (S stays small on fronts).
#include "hv4d_avx512.h"

#include "descending_order.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

// GCC 12 warns that the plain intrinsics' undefined pass-through operand "may be used
// uninitialized" (descending_order.cpp uses the zero-masking forms to avoid it); the warning is
// spurious: every lane of those results is written.
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace moalign::moo {

namespace {

// DQ and BW for the 8-bit mask instructions (kandb, kmovb): with F and VL alone the masks went
// through general registers and back (−1 to −2% on the 4-D batch).
#define MOALIGN_AVX512_TARGET "avx512f,avx512vl,avx512dq,avx512bw,popcnt,bmi"
#define MOALIGN_AVX512 __attribute__((target(MOALIGN_AVX512_TARGET), always_inline)) inline

constexpr std::uint32_t kInteriorEvent = 1u << 31;  // in Scratch::events

// The give-up rule: staircases past 15 steps cost O(steps) an operation, which sets built for it
// (hundreds of seen points inside every new point's box, at its z or above) make O(n^3) in all.
// Past this many step visits times n^2, the kernel stops and hv4d runs HV4D+, O(n^2) always:
// on such a set of 1,024 points this kernel alone took 70 ms, HV4D+ 3 ms, and with the rule
// 4-8 ms in all. Fronts stay far below it (no staircase past 15 steps in 100,000 points of the
// bench's 100-point fronts).
constexpr std::size_t kWideWorkPerPointSquared = 1;

// r[0] = fill[7], r[j] = v[j - 1]: each lane gets its left neighbour.
MOALIGN_AVX512 __m512d shift_in(__m512d v, __m512d fill) {
  return _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(v), _mm512_castpd_si512(fill), 7));
}

// Inclusive prefix maximum over the lanes (values >= 0).
MOALIGN_AVX512 __m512d prefix_max(__m512d v) {
  const __m512i zero = _mm512_setzero_si512();
  v = _mm512_max_pd(v, _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(v), zero, 7)));
  v = _mm512_max_pd(v, _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(v), zero, 6)));
  return _mm512_max_pd(v, _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(v), zero, 4)));
}

// The first min(count, 8) lanes.
MOALIGN_AVX512 __mmask8 first_lanes(std::size_t count) {
  return count >= 8 ? __mmask8{0xFF} : static_cast<__mmask8>((1u << count) - 1);
}

MOALIGN_AVX512 unsigned popcount(unsigned mask) { return static_cast<unsigned>(_mm_popcnt_u32(mask)); }

// Per lane: (the part of (left, x] right of mx) x (py - max(y, my)), the area of [mx, px] x
// [my, py] above one step of a staircase. No clamp at px or py: every lane has x <= px (steps are
// inside p's box, the other lanes hold px), and y and my are below py.
MOALIGN_AVX512 __m512d step_areas(__m512d x, __m512d left, __m512d y, __m512d py, __m512d mx, __m512d my) {
  const __m512d width = _mm512_max_pd(_mm512_sub_pd(x, _mm512_max_pd(left, mx)), _mm512_setzero_pd());
  return _mm512_mul_pd(width, _mm512_sub_pd(py, _mm512_max_pd(y, my)));
}

// Arrays past 15 steps: the same insertion and area, a step at a time. `work` counts the steps
// visited, for the kernel's give-up rule.
struct WideStaircase {
  std::vector<double> x, y;  // x ascending, y descending; x[m] = px, y[m] = 0 (the lanes past the steps)
  std::size_t m = 0;
  std::size_t work = 0;

  void insert(double cx, double cy) {
    work += m;
    std::size_t lo = 0, hi = 0;
    for (std::size_t s = 0; s < m; ++s) {
      lo += y[s] > cy;
      hi += x[s] <= cx;
    }
    // Steps [lo, hi) are covered by (cx, cy); the ones from hi on move to lo + 1.
    x.insert(x.begin() + static_cast<std::ptrdiff_t>(lo), cx);
    y.insert(y.begin() + static_cast<std::ptrdiff_t>(lo), cy);
    x.erase(x.begin() + static_cast<std::ptrdiff_t>(lo + 1), x.begin() + static_cast<std::ptrdiff_t>(hi + 1));
    y.erase(y.begin() + static_cast<std::ptrdiff_t>(lo + 1), y.begin() + static_cast<std::ptrdiff_t>(hi + 1));
    m = m + 1 - (hi - lo);
  }

  double uncovered(double px, double py, double mx, double my) {
    work += m;
    double area = 0, left = 0;
    for (std::size_t s = 0; s <= m; ++s) {
      area += std::max(std::min(x[s], px) - std::max(left, mx), 0.0) * std::max(py - std::max(y[s], my), 0.0);
      left = x[s];
    }
    return area;
  }
};

// The staircase of interior points in registers: steps in lanes 0..m-1 of (x0, x1) and (y0, y1),
// x ascending and y descending, the other lanes (px, 0): the first of them is the strip right of
// the last step, the others have no width.
struct Staircase {
  __m512d x0, x1, y0, y1;
  __m512d right;  // px in every lane: the x of the lanes past the steps
  std::size_t m;
  bool two_registers;  // x1, y1 hold steps (m > 7 at some point)
  bool in_arrays;      // m > 15 at some point: `wide` holds the steps
  WideStaircase* wide;

  MOALIGN_AVX512 void clear(WideStaircase* arrays, __m512d px) {
    right = px;
    x0 = x1 = right;
    y0 = y1 = _mm512_setzero_pd();
    m = 0;
    two_registers = in_arrays = false;
    wide = arrays;
  }

  // The staircase of the one step (cx, cy), from an empty one (m == 0): no comparisons and no
  // permute for the first step, which is on the critical path of most points.
  MOALIGN_AVX512 void first_step(double cx, double cy) {
    x0 = _mm512_mask_mov_pd(x0, 1, _mm512_set1_pd(cx));
    y0 = _mm512_mask_mov_pd(y0, 1, _mm512_set1_pd(cy));
    m = 1;
  }

  // Adds (cx, cy), which no step weakly dominates.
  MOALIGN_AVX512 void insert(double cx, double cy) {
    if (in_arrays) return wide->insert(cx, cy);
    const __m512d vx = _mm512_set1_pd(cx), vy = _mm512_set1_pd(cy);
    if (!two_registers) {
      // The steps above the new one (y > cy) are lanes [0, lo), those left of it (x <= cx) lanes
      // [0, hi); it covers [lo, hi). New lane j takes old lane j (j < lo), the new step (j == lo)
      // or old lane j + hi - lo - 1 (j > lo; sentinels from 8 on): one permute, where compress
      // then expand were two dependent ones.
      const unsigned above = _mm512_cmp_pd_mask(y0, vy, _CMP_GT_OQ);
      const unsigned lo = popcount(above), hi = popcount(_mm512_cmp_pd_mask(x0, vx, _CMP_LE_OQ));
      const std::size_t m_new = m + 1 - (hi - lo);
      if (m_new <= 7) [[likely]] {
        const __mmask8 from_lo = static_cast<__mmask8>(~above);  // lanes >= lo
        const __mmask8 past_lo = static_cast<__mmask8>(from_lo << 1);
        const __m512i lane = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
        const __m512i from = _mm512_mask_add_epi64(lane, past_lo, lane, _mm512_set1_epi64(static_cast<long long>(hi) - lo - 1));
        x0 = _mm512_mask_mov_pd(_mm512_permutex2var_pd(x0, from, right), from_lo & ~past_lo, vx);
        y0 = _mm512_mask_mov_pd(_mm512_permutex2var_pd(y0, from, _mm512_setzero_pd()), from_lo & ~past_lo, vy);
        m = m_new;
        return;
      }
      two_registers = true;
    }
    // Two registers: new lane j takes old lane j (j < lo), the new step (j == lo), or old lane
    // j + hi - lo - 1 (j > lo), with lo the steps above it and hi - lo the steps it covers.
    const unsigned lo = popcount(_mm512_cmp_pd_mask(y0, vy, _CMP_GT_OQ)) + popcount(_mm512_cmp_pd_mask(y1, vy, _CMP_GT_OQ));
    const unsigned hi = popcount(_mm512_cmp_pd_mask(x0, vx, _CMP_LE_OQ)) + popcount(_mm512_cmp_pd_mask(x1, vx, _CMP_LE_OQ));
    const std::size_t m_new = m + 1 - (hi - lo);
    if (m_new > 15) {
      double xs[16], ys[16];
      _mm512_storeu_pd(xs, x0);
      _mm512_storeu_pd(xs + 8, x1);
      _mm512_storeu_pd(ys, y0);
      _mm512_storeu_pd(ys + 8, y1);
      wide->x.assign(xs, xs + m + 1);  // with the sentinel
      wide->y.assign(ys, ys + m + 1);
      wide->m = m;
      in_arrays = true;
      return wide->insert(cx, cy);
    }
    const __m512i lane0 = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), lane1 = _mm512_setr_epi64(8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i at = _mm512_set1_epi64(lo), shift = _mm512_set1_epi64(static_cast<long long>(hi) - lo - 1);
    const __m512i from0 = _mm512_mask_add_epi64(lane0, _mm512_cmp_epi64_mask(lane0, at, _MM_CMPINT_GT), lane0, shift);
    const __m512i from1 = _mm512_mask_add_epi64(lane1, _mm512_cmp_epi64_mask(lane1, at, _MM_CMPINT_GT), lane1, shift);
    const __m512i sixteen = _mm512_set1_epi64(16);
    const __mmask8 past0 = _mm512_cmp_epi64_mask(from0, sixteen, _MM_CMPINT_GE), past1 = _mm512_cmp_epi64_mask(from1, sixteen, _MM_CMPINT_GE);
    const __mmask8 new0 = _mm512_cmp_epi64_mask(lane0, at, _MM_CMPINT_EQ), new1 = _mm512_cmp_epi64_mask(lane1, at, _MM_CMPINT_EQ);
    const __m512d zero = _mm512_setzero_pd();
    const __m512d nx0 = _mm512_mask_mov_pd(_mm512_mask_mov_pd(_mm512_permutex2var_pd(x0, from0, x1), past0, right), new0, vx);
    const __m512d nx1 = _mm512_mask_mov_pd(_mm512_mask_mov_pd(_mm512_permutex2var_pd(x0, from1, x1), past1, right), new1, vx);
    const __m512d ny0 = _mm512_mask_mov_pd(_mm512_mask_mov_pd(_mm512_permutex2var_pd(y0, from0, y1), past0, zero), new0, vy);
    const __m512d ny1 = _mm512_mask_mov_pd(_mm512_mask_mov_pd(_mm512_permutex2var_pd(y0, from1, y1), past1, zero), new1, vy);
    x0 = nx0;
    x1 = nx1;
    y0 = ny0;
    y1 = ny1;
    m = m_new;
  }

  // The area of [mx, px] x [my, py] above the staircase, spread over the lanes (their sum).
  MOALIGN_AVX512 __m512d uncovered(double px, double py, double mx, double my) const {
    if (in_arrays) return _mm512_maskz_mov_pd(1, _mm512_set1_pd(wide->uncovered(px, py, mx, my)));
    const __m512d vpy = _mm512_set1_pd(py), vmx = _mm512_set1_pd(mx), vmy = _mm512_set1_pd(my);
    const __m512d zero = _mm512_setzero_pd();
    __m512d sum = step_areas(x0, shift_in(x0, zero), y0, vpy, vmx, vmy);
    if (two_registers) sum = _mm512_add_pd(sum, step_areas(x1, shift_in(x1, x0), y1, vpy, vmx, vmy));
    return sum;
  }
};

// Per-thread scratch (batches call this for many small fronts), reached through a call that is
// not inlined: see hv3d.cpp's per_thread_scratch.
struct Scratch {
  std::vector<std::uint32_t> order;  // the rows by q4 descending
  std::vector<double> storage;
  double *sx, *sy, *sz;  // S, z descending; k points
  double *tx, *ty;       // T's interior points
  // Per block of 8 points of S that holds points below pz (at 5 x its first index): MX and MY
  // after each point, then the points' x, y and z. The events read their points here, not in S,
  // which the update rewrites before the events are swept (see add_point); one pointer for the
  // five rows keeps the pass's general registers free.
  double* below;
  // The events below pz, z descending: where each point's MX sits in `below`, kInteriorEvent set
  // on interior ones. Indices rather than copies of the points: the pass compresses one vector
  // of 8 indices per block where it compressed and stored six of doubles.
  std::vector<std::uint32_t> events;
  WideStaircase wide;

  // Room for n points in each array, plus the lanes that vector loads and stores run past (what
  // they read there is masked off, or compressed away).
  void reserve(std::size_t n) {
    const std::size_t stride = (n + 24 + 7) / 8 * 8;  // doubles, a multiple of 64 bytes
    if (storage.size() < 10 * stride + 8) storage.resize(10 * stride + 8);
    if (events.size() < stride) events.resize(stride);
    double* base = storage.data();
    base += (8 - reinterpret_cast<std::uintptr_t>(base) / sizeof(double) % 8) % 8;  // 64-byte aligned
    double** arrays[] = {&sx, &sy, &sz, &tx, &ty};
    for (std::size_t i = 0; i < 5; ++i) *arrays[i] = base + i * stride;
    below = base + 5 * stride;  // 5 x stride
  }
};

[[gnu::noinline]] Scratch& per_thread_scratch() {
  thread_local Scratch s;
  return s;
}

// p's exclusive 3-D volume against S (k points), then S updated with p. Returns 0 and leaves S
// as it is when a seen point weakly dominates p.
__attribute__((target(MOALIGN_AVX512_TARGET))) double add_point(Scratch& s, std::size_t& k_inout, double px, double py, double pz) {
  // Locals: with the members and k behind references, every store to an array made the compiler
  // read them again.
  const std::size_t k = k_inout;
  double* const sx = s.sx;
  double* const sy = s.sy;
  double* const sz = s.sz;
  double* const below = s.below;
  std::uint32_t* const events = s.events.data();
  const __m512d vpx = _mm512_set1_pd(px), vpy = _mm512_set1_pd(py), vpz = _mm512_set1_pd(pz), zero = _mm512_setzero_pd();
  const __m512i last_lane = _mm512_set1_epi64(7);
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), interior_bit = _mm256_set1_epi32(static_cast<int>(kInteriorEvent));
  // One pass down z to the first full cover: T's bands and interior points, and the events below
  // pz with the band maxima carried along as prefix maxima (stored in `below` with the points,
  // for the events to read).
  // T's band maxima (MX, MY at pz) are the carried maxima at the first point below pz, or after
  // the pass where there is none, taken from the vectors the pass builds anyway.
  __m512d carry_y = zero, carry_x = zero, mx_pz = zero, my_pz = zero;
  bool below_pz = false;  // a point below pz has been seen
  std::size_t nt = 0, ne = 0, above = 0, stop = k;
  for (std::size_t i = 0; i < k; i += 8) {
    const __mmask8 valid = first_lanes(k - i);
    const __m512d x = _mm512_load_pd(sx + i), y = _mm512_load_pd(sy + i), z = _mm512_load_pd(sz + i);
    const __mmask8 x_ge = _mm512_mask_cmp_pd_mask(valid, x, vpx, _CMP_GE_OQ), y_ge = _mm512_mask_cmp_pd_mask(valid, y, vpy, _CMP_GE_OQ);
    const unsigned full = x_ge & y_ge;
    const __mmask8 before = full ? static_cast<__mmask8>(_blsi_u32(full) - 1) : valid;  // lanes before the first full cover
    above += popcount(_mm512_mask_cmp_pd_mask(valid, z, vpz, _CMP_GT_OQ));
    const __mmask8 in_t = _mm512_mask_cmp_pd_mask(before, z, vpz, _CMP_GE_OQ);
    const __mmask8 x_band = x_ge & before, y_band = y_ge & before;
    const __mmask8 interior = before & ~x_ge & ~y_ge;
    // T: interior points listed.
    _mm512_storeu_pd(s.tx + nt, _mm512_maskz_compress_pd(interior & in_t, x));
    _mm512_storeu_pd(s.ty + nt, _mm512_maskz_compress_pd(interior & in_t, y));
    nt += popcount(interior & in_t);
    // Below pz: the band maxima before and after each point, z order (T's bands included).
    const __m512d max_y = _mm512_max_pd(prefix_max(_mm512_maskz_mov_pd(x_band, y)), carry_y);
    const __m512d max_x = _mm512_max_pd(prefix_max(_mm512_maskz_mov_pd(y_band, x)), carry_x);
    const __m512d max_y_before = shift_in(max_y, carry_y), max_x_before = shift_in(max_x, carry_x);
    carry_y = _mm512_permutexvar_pd(last_lane, max_y);
    carry_x = _mm512_permutexvar_pd(last_lane, max_x);
    if (in_t != before) {  // lanes below pz
      if (!below_pz) {
        const __m512i first_below = _mm512_set1_epi64(popcount(in_t));
        mx_pz = _mm512_permutexvar_pd(first_below, max_x_before);
        my_pz = _mm512_permutexvar_pd(first_below, max_y_before);
        below_pz = true;
      }
      const __mmask8 raises = _mm512_mask_cmp_pd_mask(x_band, y, max_y_before, _CMP_GT_OQ) | _mm512_mask_cmp_pd_mask(y_band, x, max_x_before, _CMP_GT_OQ);
      const __mmask8 open = _mm512_mask_cmp_pd_mask(_mm512_mask_cmp_pd_mask(interior, y, max_y_before, _CMP_GT_OQ), x, max_x_before, _CMP_GT_OQ);
      const __mmask8 event = (raises | open) & ~in_t;
      double* const block = below + 5 * i;
      _mm512_store_pd(block, max_x);
      _mm512_store_pd(block + 8, max_y);
      _mm512_store_pd(block + 16, x);
      _mm512_store_pd(block + 24, y);
      _mm512_store_pd(block + 32, z);
      const __m256i index = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(5 * i)), lanes);
      const __m256i code = _mm256_mask_or_epi32(index, open, index, interior_bit);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(events + ne), _mm256_maskz_compress_epi32(event, code));
      ne += popcount(event);
    }
    if (full) {
      stop = i + static_cast<std::size_t>(_tzcnt_u32(full));
      break;
    }
  }
  if (stop < k && sz[stop] >= pz) return 0;
  const double z_stop = stop < k ? sz[stop] : 0.0;

  // p joins S after the points above it in z, which stay where they are; of the points after it,
  // those p weakly dominates leave. In place: each block of 8 is loaded before the block before
  // it is stored, which reaches one lane into it.
  // Done here, before the staircase and the events (which read `below`, not S): the next point's
  // pass loads blocks of S that these stores wrote unaligned, two stores a load, which the CPU
  // cannot forward; with the staircase's work in between, the stores have reached the cache by
  // then (3.5-4% of the 4-D batch).
  std::size_t out = above;
  if (above < k) {
    __m512d x = _mm512_loadu_pd(sx + above), y = _mm512_loadu_pd(sy + above), z = _mm512_loadu_pd(sz + above);
    sx[out] = px;
    sy[out] = py;
    sz[out] = pz;
    ++out;
    for (std::size_t i = above; i < k; i += 8) {
      const __m512d next_x = _mm512_loadu_pd(sx + i + 8), next_y = _mm512_loadu_pd(sy + i + 8), next_z = _mm512_loadu_pd(sz + i + 8);
      const __mmask8 dominated = _mm512_mask_cmp_pd_mask(_mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(x, vpx, _CMP_LE_OQ), y, vpy, _CMP_LE_OQ), z, vpz, _CMP_LE_OQ);
      const __mmask8 stay = first_lanes(k - i) & ~dominated;
      _mm512_storeu_pd(sx + out, _mm512_maskz_compress_pd(stay, x));
      _mm512_storeu_pd(sy + out, _mm512_maskz_compress_pd(stay, y));
      _mm512_storeu_pd(sz + out, _mm512_maskz_compress_pd(stay, z));
      out += popcount(stay);
      x = next_x;
      y = next_y;
      z = next_z;
    }
  } else {
    sx[out] = px;
    sy[out] = py;
    sz[out] = pz;
    ++out;
  }
  k_inout = out;

  // The staircase at z = pz: T's interior points that its bands leave uncovered.
  if (!below_pz) {
    mx_pz = carry_x;
    my_pz = carry_y;
  }
  double mx = _mm512_cvtsd_f64(mx_pz), my = _mm512_cvtsd_f64(my_pz);
  Staircase stairs;
  stairs.clear(&s.wide, vpx);
  {
    const __m512d vmx = mx_pz, vmy = my_pz;
    std::size_t kept = 0;
    for (std::size_t j = 0; j < nt; j += 8) {
      const __m512d x = _mm512_loadu_pd(s.tx + j), y = _mm512_loadu_pd(s.ty + j);
      const __mmask8 open = _mm512_mask_cmp_pd_mask(_mm512_mask_cmp_pd_mask(first_lanes(nt - j), x, vmx, _CMP_GT_OQ), y, vmy, _CMP_GT_OQ);
      _mm512_storeu_pd(s.tx + kept, _mm512_maskz_compress_pd(open, x));
      _mm512_storeu_pd(s.ty + kept, _mm512_maskz_compress_pd(open, y));
      kept += popcount(open);
    }
    if (kept != 0) stairs.first_step(s.tx[0], s.ty[0]);
    for (std::size_t j = 1; j < kept; ++j) stairs.insert(s.tx[j], s.ty[j]);
  }
  // Down z from pz through the events to the first full cover. The areas stay in lanes (one
  // per step) and are summed once at the end: a horizontal sum per event sat on the chain.
  __m512d area = stairs.uncovered(px, py, mx, my), volume_lanes = _mm512_setzero_pd();
  double last_z = pz;
  for (std::size_t e = 0; e < ne; ++e) {
    const std::uint32_t code = events[e];
    const double* const point = below + (code & ~kInteriorEvent);  // MX, MY, x, y, z 8 apart
    volume_lanes = _mm512_fmadd_pd(area, _mm512_set1_pd(last_z - point[32]), volume_lanes);
    last_z = point[32];
    // insert, not first_step on an empty staircase: the branch between them cost more (2%)
    if (code & kInteriorEvent) stairs.insert(point[16], point[24]);
    mx = point[0];
    my = point[8];
    area = stairs.uncovered(px, py, mx, my);
  }
  volume_lanes = _mm512_fmadd_pd(area, _mm512_set1_pd(last_z - z_stop), volume_lanes);
  const double volume = _mm512_reduce_add_pd(volume_lanes);

  return volume;
}

}  // namespace

bool hv4d_avx512(const double* q, std::size_t n, double& hv) {
  Scratch& s = per_thread_scratch();
  descending_order(q + 3, n, 4, s.order);
  s.reserve(n);
  s.wide.work = 0;
  const std::size_t budget = kWideWorkPerPointSquared * n * n;
  std::size_t k = 0;
  double volume = 0;
  hv = 0;
  for (std::size_t t = 0; t < n; ++t) {
    const double* r = q + 4 * s.order[t];
    volume += add_point(s, k, r[0], r[1], r[2]);
    hv += volume * (r[3] - (t + 1 < n ? q[4 * s.order[t + 1] + 3] : 0.0));
    if (s.wide.work > budget) return false;
  }
  return true;
}

}  // namespace moalign::moo

#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#else

namespace moalign::moo {
bool hv4d_avx512(const double*, std::size_t, double&) { return false; }  // never called: use_hv4d_avx512() is false
}  // namespace moalign::moo

#endif
