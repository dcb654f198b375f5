#include "core/adapters/low_rank_kernels.h"

#include <string>
#include <utility>

#include "core/errors.h"
#include "core/float_lanes.h"

namespace moalign::adapters::low_rank {

namespace {

using namespace lanes;

// The kernels below are templates on the rank R, so that the R vectors of a row or of a strip
// live in registers (R <= 16 of AVX-512's 32); each public entry point picks its R from r at run
// time and is compiled once per instruction set (MOALIGN_CPU_CLONES), with every template inlined
// into each copy.
#define MOALIGN_RANK_SWITCH(r, kernel, ...)                                                          \
  switch (r) {                                                                                       \
    case 1: kernel<1>(__VA_ARGS__); break;                                                           \
    case 2: kernel<2>(__VA_ARGS__); break;                                                           \
    case 3: kernel<3>(__VA_ARGS__); break;                                                           \
    case 4: kernel<4>(__VA_ARGS__); break;                                                           \
    case 5: kernel<5>(__VA_ARGS__); break;                                                           \
    case 6: kernel<6>(__VA_ARGS__); break;                                                           \
    case 7: kernel<7>(__VA_ARGS__); break;                                                           \
    case 8: kernel<8>(__VA_ARGS__); break;                                                           \
    case 9: kernel<9>(__VA_ARGS__); break;                                                           \
    case 10: kernel<10>(__VA_ARGS__); break;                                                         \
    case 11: kernel<11>(__VA_ARGS__); break;                                                         \
    case 12: kernel<12>(__VA_ARGS__); break;                                                         \
    case 13: kernel<13>(__VA_ARGS__); break;                                                         \
    case 14: kernel<14>(__VA_ARGS__); break;                                                         \
    case 15: kernel<15>(__VA_ARGS__); break;                                                         \
    case 16: kernel<16>(__VA_ARGS__); break;                                                         \
    default: throw InvalidArgument("low-rank kernels: rank " + std::to_string(r) + " is outside 1.." + std::to_string(kMaxRank)); \
  }

// ---- horizontal sums ----------------------------------------------------------------------
// fold<W>(x, y): in every group of 2W lanes, the first W lanes take x's two halves of that group
// added, the last W lanes y's. Folding 16 vectors pairwise (v_j with v_{j+8}, then j with j+4,
// j+2, j+1) leaves one vector whose lane j is the sum of v_j's lanes: 15 folds for 16 sums
// instead of 4 shuffle steps per sum.
// The shuffle source of lane i (indices 16.. are y's): the same lane of its group's x or y half
// pair, in the lower (half = 0) or upper (half = W) half.
template <int W>
constexpr int fold_source(int i, int half) {
  const int group = i / (2 * W) * (2 * W), j = i % (2 * W);
  return (j < W ? group + j : 16 + group + j - W) + half;
}
template <int W, int... I>
MOALIGN_LANES f32x16 fold(const f32x16& x, const f32x16& y, std::integer_sequence<int, I...>) {
  return __builtin_shufflevector(x, y, fold_source<W>(I, 0)...) + __builtin_shufflevector(x, y, fold_source<W>(I, W)...);
}
template <int W>
MOALIGN_LANES f32x16 fold(const f32x16& x, const f32x16& y) {
  return fold<W>(x, y, std::make_integer_sequence<int, 16>{});
}

// Lane j: the sum of v[j]'s 16 lanes, for j < R; lanes R.. are 0.
template <int R>
MOALIGN_LANES f32x16 sum_each(const f32x16 (&v)[R]) {
  f32x16 w[16];
  for (int j = 0; j < 16; ++j) w[j] = j < R ? v[j] : splat(0.0f);
  for (int j = 0; j < 8; ++j) w[j] = fold<8>(w[j], w[j + 8]);
  for (int j = 0; j < 4; ++j) w[j] = fold<4>(w[j], w[j + 4]);
  for (int j = 0; j < 2; ++j) w[j] = fold<2>(w[j], w[j + 2]);
  return fold<1>(w[0], w[1]);
}

// ---- h = a b^T: rank-r dot products of each row ------------------------------------------------
// ROWS rows at a time share each strip of b's rows: 2-4 rows keep ROWS x R accumulators within
// the 32 registers and halve (or quarter) the loads of b, which is r x K floats (40 KiB at
// K 1024, more than L1).
template <int R>
constexpr int kRowsPerPass = R <= 6 ? 4 : R <= 14 ? 2 : 1;

template <int R, int ROWS>
MOALIGN_LANES void dot_strip(const f32x16 (&x)[ROWS], const float* b, int64_t ldb, f32x16 (&acc)[ROWS][R]) {
  for (int j = 0; j < R; ++j) {
    const f32x16 bj = load_lanes(b + j * ldb);
    for (int t = 0; t < ROWS; ++t) acc[t][j] += x[t] * bj;
  }
}

// h[t, :R] for the ROWS rows of a (ROWS, K) from a's row t.
template <int R, int ROWS>
MOALIGN_LANES void project_row_group(const float* a, int64_t K, const float* b, int64_t ldb, float* h) {
  f32x16 acc[ROWS][R];
  for (int t = 0; t < ROWS; ++t)
    for (int j = 0; j < R; ++j) acc[t][j] = splat(0.0f);
  f32x16 x[ROWS];
  int64_t i = 0;
  for (; i + kLanes <= K; i += kLanes) {
    for (int t = 0; t < ROWS; ++t) x[t] = load_lanes(a + t * K + i);
    dot_strip<R, ROWS>(x, b + i, ldb, acc);
  }
  if (i < K) {  // the last, partial strip: a's lanes past K read as 0, b's are padding
    for (int t = 0; t < ROWS; ++t) x[t] = load_first(a + t * K + i, K - i);
    dot_strip<R, ROWS>(x, b + i, ldb, acc);
  }
  for (int t = 0; t < ROWS; ++t) store_first(h + t * R, sum_each<R>(acc[t]), R);
}

template <int R>
MOALIGN_LANES void project_rows_rank(const float* a, int64_t n, int64_t K, const float* b, float* h) {
  constexpr int G = kRowsPerPass<R>;
  const int64_t ldb = padded(K);
  int64_t t = 0;
  for (; t + G <= n; t += G) project_row_group<R, G>(a + t * K, K, b, ldb, h + t * R);
  for (; t < n; ++t) project_row_group<R, 1>(a + t * K, K, b, ldb, h + t * R);
}

// ---- y += (c b) ⊙ mask: 8 rows at a time, their strips left to right ---------------------------
// The 8 rows share each load of b's strip (b: r x K floats, from L1 or L2). Row by row, not strip
// by strip down all the rows with b's strip held in registers: at K 1024 every row's strip sits
// at the same offset in its 4 KiB page, and a strip's 64 rows then all fall into one set of the
// 8-way L1 (and every load follows a store to the same page offset), which ran at 40% of the
// speed this order reaches (1 thread, 1024 x 1024, r 10: 450 against 204 us).
constexpr int kRowsPerGroup = 8;

template <int R>
MOALIGN_LANES f32x16 strip_sum(const float* ct, const float* b, int64_t ldb) {
  f32x16 sum = load_lanes(b) * ct[0];
  for (int j = 1; j < R; ++j) sum += load_lanes(b + j * ldb) * ct[j];
  return sum;
}

// What a row of y starts from: its own values (y += ...), or a given row (y = row + ...).
enum class Start { kY, kRow };

// y's G rows from row 0 of y, c and mask: y[g] = (start) + (c[g] b) ⊙ mask[g], start y[g] itself
// or `row` (K).
template <int R, int G, Start S>
MOALIGN_LANES void low_rank_rows(float* y, int64_t K, const float* c, const float* b, int64_t ldb, const float* mask, const float* row) {
  int64_t i = 0;
  for (; i + kLanes <= K; i += kLanes) {
    f32x16 sum[G];
    for (int g = 0; g < G; ++g) sum[g] = splat(0.0f);
    for (int j = 0; j < R; ++j) {
      const f32x16 bj = load_lanes(b + j * ldb + i);
      for (int g = 0; g < G; ++g) sum[g] += bj * c[g * R + j];
    }
    if (mask)
      for (int g = 0; g < G; ++g) sum[g] *= load_lanes(mask + g * K + i);
    for (int g = 0; g < G; ++g) store_lanes(y + g * K + i, (S == Start::kY ? load_lanes(y + g * K + i) : load_lanes(row + i)) + sum[g]);
  }
  if (i == K) return;
  const int64_t width = K - i;  // the last, partial strip
  for (int g = 0; g < G; ++g) {
    f32x16 sum = strip_sum<R>(c + g * R, b + i, ldb);
    if (mask) sum *= load_first(mask + g * K + i, width);
    store_first(y + g * K + i, (S == Start::kY ? load_first(y + g * K + i, width) : load_first(row + i, width)) + sum, width);
  }
}

template <int R, Start S>
MOALIGN_LANES void low_rank_rank(float* y, int64_t n, int64_t K, const float* c, const float* b, const float* mask, const float* row) {
  constexpr int G = kRowsPerGroup;
  const int64_t ldb = padded(K);
  int64_t t = 0;
  for (; t + G <= n; t += G) low_rank_rows<R, G, S>(y + t * K, K, c + t * R, b, ldb, mask ? mask + t * K : nullptr, row);
  for (; t < n; ++t) low_rank_rows<R, 1, S>(y + t * K, K, c + t * R, b, ldb, mask ? mask + t * K : nullptr, row);
}
template <int R>
MOALIGN_LANES void add_low_rank_rank(float* y, int64_t n, int64_t K, const float* c, const float* b, const float* mask) {
  low_rank_rank<R, Start::kY>(y, n, K, c, b, mask, nullptr);
}
template <int R>
MOALIGN_LANES void set_low_rank_rank(float* y, int64_t n, int64_t K, const float* c, const float* b, const float* row) {
  low_rank_rank<R, Start::kRow>(y, n, K, c, b, nullptr, row);
}

// ---- d += c^T a: R sums per strip of 16 columns, over every row --------------------------------
template <int R>
MOALIGN_LANES void accumulate_outer_rank(float* d, int64_t K, const float* c, const float* a, int64_t n) {
  const int64_t ldd = padded(K);
  for (int64_t i = 0; i < K; i += kLanes) {
    const int64_t width = K - i < kLanes ? K - i : kLanes;
    f32x16 acc[R];
    for (int j = 0; j < R; ++j) acc[j] = load_lanes(d + j * ldd + i);
    for (int64_t t = 0; t < n; ++t) {
      const f32x16 x = width == kLanes ? load_lanes(a + t * K + i) : load_first(a + t * K + i, width);
      for (int j = 0; j < R; ++j) acc[j] += x * c[t * R + j];
    }
    for (int j = 0; j < R; ++j) store_lanes(d + j * ldd + i, acc[j]);
  }
}

}  // namespace

MOALIGN_CPU_CLONES void project_rows(const float* a, int64_t n, int64_t K, const float* b, int64_t r, float* h) {
  MOALIGN_RANK_SWITCH(r, project_rows_rank, a, n, K, b, h)
}

MOALIGN_CPU_CLONES void add_low_rank(float* y, int64_t n, int64_t K, const float* c, int64_t r, const float* b, const float* mask) {
  MOALIGN_RANK_SWITCH(r, add_low_rank_rank, y, n, K, c, b, mask)
}

MOALIGN_CPU_CLONES void set_low_rank(float* y, int64_t n, int64_t K, const float* c, int64_t r, const float* b, const float* row) {
  MOALIGN_RANK_SWITCH(r, set_low_rank_rank, y, n, K, c, b, row)
}

MOALIGN_CPU_CLONES void accumulate_outer(float* d, int64_t K, int64_t r, const float* c, const float* a, int64_t n) {
  MOALIGN_RANK_SWITCH(r, accumulate_outer_rank, d, K, c, a, n)
}

}  // namespace moalign::adapters::low_rank
