// How descending_order sorts without data-dependent branches:
// - Doubles order like their bit patterns read as unsigned integers once negative ones have all
//   their bits flipped and the others their sign bit (ordered_bits), so each row gets the key
//   (those bits, with the lowest b replaced by its row number), b the bits needed for n - 1
//   rows. Keys are distinct, integers compare and select by conditional moves, and the row comes
//   back out of the key.
// - The keys are sorted by a sorting network on blocks of 8 and bottom-up merges whose each
//   step takes the larger head by a conditional move; only loop bounds branch. From 1,024 keys
//   on, by a radix sort instead; up to 128 keys on CPUs with AVX-512, by a bitonic network in
//   registers on 32-bit keys (the upper half of those bits, the row in its lowest b).
// - Dropping b low bits can only tie values closer than 2^-(52-b) relative (2^-(20-b) for the
//   32-bit keys): keys then order those rows by row number. Such runs sit together (equal upper
//   bits), and each is re-sorted by its exact values, so the result is exact; for values that
//   do not nearly tie it is a pass that finds no run, and runs of one value are already in row
//   order.
#include "descending_order.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <utility>

#include "core/cpu_features.h"

namespace moalign::moo {

namespace {

// Bits that order as unsigned integers like the doubles do (finite values; -0 + 0 is +0, so the
// two zeros get one key).
inline std::uint64_t ordered_bits(double v) {
  const std::uint64_t b = std::bit_cast<std::uint64_t>(v + 0.0);
  const std::uint64_t negative = static_cast<std::uint64_t>(static_cast<std::int64_t>(b) >> 63);
  return b ^ (negative | (std::uint64_t{1} << 63));
}

// The keys of values[i * stride], i < n, as 64- or 32-bit integers: the top bits of their
// ordered_bits with the lowest b replaced by the row, b the bits n - 1 needs. Returns those bits.
template <typename Key>
Key fill_keys(const double* values, std::size_t n, std::size_t stride, Key* keys) {
  const Key row_bits = static_cast<Key>((Key{1} << std::bit_width(n - 1)) - 1);
  for (std::size_t i = 0; i < n; ++i)
    keys[i] = static_cast<Key>((static_cast<Key>(ordered_bits(values[i * stride]) >> (64 - 8 * sizeof(Key))) & ~row_bits) | i);
  return row_bits;
}

// Sorts 8 keys descending in place: the optimal 19-comparator network (Knuth, TAOCP 5.3.4).
inline void sort8_desc(std::uint64_t* k) {
  static constexpr std::array<std::pair<std::uint8_t, std::uint8_t>, 19> kNet{{
      {0, 2}, {1, 3}, {4, 6}, {5, 7}, {0, 4}, {1, 5}, {2, 6}, {3, 7}, {0, 1}, {2, 3},
      {4, 5}, {6, 7}, {2, 4}, {3, 5}, {1, 4}, {3, 6}, {1, 2}, {3, 4}, {5, 6},
  }};
#pragma GCC unroll 19
  for (const auto& [a, b] : kNet) {
    // Swap when k[a] < k[b], by masking: compilers turn std::max/min here into branches.
    const std::uint64_t x = k[a], y = k[b], flip = (x ^ y) & (std::uint64_t{0} - (x < y));
    k[a] = x ^ flip;
    k[b] = y ^ flip;
  }
}

// A merge of the descending runs a[0..na) and b[0..nb) (distinct keys) into out[0..na+nb) that
// works from both ends: step() sends the larger head to the front and the smaller tail to the
// back. After k < min(na, nb) steps neither run is used up from either end, so those steps need
// no bounds check (quadsort's "parity merge"), and the two ends are independent chains of
// load-compare-advance that the core overlaps: the merges are latency-bound, not
// instruction-bound.
struct TwoEndedMerge {
  const std::uint64_t *a, *b, *a_end, *b_end;  // the heads, and one past the tails, not yet merged
  std::uint64_t *front, *back;

  TwoEndedMerge(const std::uint64_t* a_, std::size_t na, const std::uint64_t* b_, std::size_t nb, std::uint64_t* out)
      : a(a_), b(b_), a_end(a_ + na), b_end(b_ + nb), front(out), back(out + na + nb) {}

  void step() {
    const std::uint64_t ha = *a, hb = *b, from_b = hb > ha;
    *front++ = from_b ? hb : ha;
    b += from_b;
    a += 1 - from_b;
    const std::uint64_t ta = a_end[-1], tb = b_end[-1], to_b = tb < ta;
    *--back = to_b ? tb : ta;
    b_end -= to_b;
    a_end -= 1 - to_b;
  }

  // What min(na, nb) steps left in the middle, merged with bounds.
  void finish() {
    while (a < a_end && b < b_end) {
      const std::uint64_t ha = *a, hb = *b, from_b = hb > ha;
      *front++ = from_b ? hb : ha;
      b += from_b;
      a += 1 - from_b;
    }
    std::memcpy(front, a, static_cast<std::size_t>(a_end - a) * sizeof(std::uint64_t));
    front += a_end - a;
    std::memcpy(front, b, static_cast<std::size_t>(b_end - b) * sizeof(std::uint64_t));
  }
};

// Sorts keys[0..n) descending; returns the buffer holding the result (keys or scratch).
std::uint64_t* sort_desc(std::uint64_t* keys, std::uint64_t* scratch, std::size_t n) {
  constexpr std::size_t kBlock = 8;
  std::size_t width = kBlock;
  const std::size_t full = n / kBlock * kBlock;
  for (std::size_t lo = 0; lo < full; lo += kBlock) sort8_desc(keys + lo);
  if (full < n) {  // the short last block: insertion sort, at most 7 keys
    for (std::size_t i = full + 1; i < n; ++i)
      for (std::size_t j = i; j > full && keys[j] > keys[j - 1]; --j) std::swap(keys[j], keys[j - 1]);
  }
  std::uint64_t* from = keys;
  std::uint64_t* to = scratch;
  for (; width < n; width *= 2) {
    std::size_t lo = 0;
    // Two full pairs at a time: four independent chains. Equal runs need no finish().
    for (; lo + 4 * width <= n; lo += 4 * width) {
      TwoEndedMerge first(from + lo, width, from + lo + width, width, to + lo);
      TwoEndedMerge second(from + lo + 2 * width, width, from + lo + 3 * width, width, to + lo + 2 * width);
      for (std::size_t k = 0; k < width; ++k) {
        first.step();
        second.step();
      }
    }
    for (; lo < n; lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      TwoEndedMerge merge(from + lo, mid - lo, from + mid, hi - mid, to + lo);
      for (std::size_t k = std::min(mid - lo, hi - mid); k > 0; --k) merge.step();
      merge.finish();
    }
    std::swap(from, to);
  }
  return from;
}

// Sorts keys[0..n) descending by LSD radix sort on bytes: for large n it moves each key once per
// byte that is not the same in every key, where the merges make log2(n / 8) passes with a
// dependent compare per key. Distinct keys have one sorted order, so both sorts give the same.
std::uint64_t* radix_sort_desc(std::uint64_t* keys, std::uint64_t* scratch, std::size_t n) {
  constexpr int kBytes = 8;
  std::vector<std::array<std::size_t, 256>> count(kBytes, std::array<std::size_t, 256>{});
  const auto digit = [](std::uint64_t key, int d) { return static_cast<std::size_t>((~key >> (8 * d)) & 255); };  // ~: descending
  for (std::size_t i = 0; i < n; ++i)
    for (int d = 0; d < kBytes; ++d) ++count[d][digit(keys[i], d)];
  std::uint64_t* from = keys;
  std::uint64_t* to = scratch;
  for (int d = 0; d < kBytes; ++d) {
    if (count[d][digit(keys[0], d)] == n) continue;  // every key has this byte: the pass changes nothing
    std::size_t at = 0;
    for (std::size_t& c : count[d]) at += std::exchange(c, at);  // counts -> first slots
    for (std::size_t i = 0; i < n; ++i) to[count[d][digit(from[i], d)]++] = from[i];
    std::swap(from, to);
  }
  return from;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// Up to 128 keys on CPUs with AVX-512: 32-bit keys (the upper half of the ordered bits, with the
// row in its lowest b bits) through a bitonic network over 1, 2, 4 or 8 registers of 16 keys
// (the "flip" form, where every comparator sends the larger key to the lower index). The merges
// above are one dependent load-compare chain per key and output; here each layer is 16
// independent min/max pairs, and half the registers of 64-bit keys (the sort was 3/5 of a 2-D
// batch's time and a quarter of a 3-D one's). The price is coarser keys: values that agree in
// their top 32 - b bits (about 2^-(20-b) relative, b <= 7) come out as a run in row order and are
// re-sorted by value (in a quarter to half of the calls on the bench's 100-point fronts; keys
// spread over the values' range instead took a second pass that cost more). Missing keys are 0
// (no real key is: ordered_bits of a finite value is >= 2^52), which sort last.
#define MOALIGN_BITONIC_AVX512 1
constexpr std::size_t kBitonicMax = 128;

// Unsigned max and min of 16 keys, and lane shuffles: the zero-masking forms with every lane
// kept (the same instructions), since GCC 12 warns about the plain forms' undefined source.
#define MOALIGN_AVX512_KEYS __attribute__((target("avx512f"), always_inline)) inline
MOALIGN_AVX512_KEYS __m512i max_keys(__m512i a, __m512i b) { return _mm512_maskz_max_epu32(0xFFFF, a, b); }
MOALIGN_AVX512_KEYS __m512i min_keys(__m512i a, __m512i b) { return _mm512_maskz_min_epu32(0xFFFF, a, b); }

// Lane l <- lane l ^ j, by an immediate shuffle for each j (no index register).
MOALIGN_AVX512_KEYS __m512i xor1(__m512i v) { return _mm512_maskz_shuffle_epi32(0xFFFF, v, _MM_PERM_CDAB); }
MOALIGN_AVX512_KEYS __m512i xor2(__m512i v) { return _mm512_maskz_shuffle_epi32(0xFFFF, v, _MM_PERM_BADC); }
MOALIGN_AVX512_KEYS __m512i xor3(__m512i v) { return _mm512_maskz_shuffle_epi32(0xFFFF, v, _MM_PERM_ABCD); }
MOALIGN_AVX512_KEYS __m512i xor4(__m512i v) { return _mm512_maskz_shuffle_i32x4(0xFFFF, v, v, _MM_SHUFFLE(2, 3, 0, 1)); }
MOALIGN_AVX512_KEYS __m512i xor8(__m512i v) { return _mm512_maskz_shuffle_i32x4(0xFFFF, v, v, _MM_SHUFFLE(1, 0, 3, 2)); }
MOALIGN_AVX512_KEYS __m512i xor12(__m512i v) { return _mm512_maskz_shuffle_i32x4(0xFFFF, v, v, _MM_SHUFFLE(0, 1, 2, 3)); }
MOALIGN_AVX512_KEYS __m512i reverse(__m512i v) { return xor12(xor3(v)); }  // l ^ 15

// Compare-exchange of lanes l and l ^ j inside v, given p = v with lanes l ^ j: the larger to
// the lower lane; `upper` = the lanes with the j bit set (they take the minimum).
MOALIGN_AVX512_KEYS __m512i exchange_lanes(__m512i v, __m512i p, __mmask16 upper) {
  return _mm512_mask_max_epu32(min_keys(v, p), static_cast<__mmask16>(~upper), v, p);  // the min, the max in the lower lanes
}

// Half-cleaners at distances from_j .. 1 (from_j 8, 4, 2 or 1) inside each of the R registers.
template <int R>
MOALIGN_AVX512_KEYS void clean_lanes(__m512i* v, int from_j) {
  for (int r = 0; r < R; ++r) {
    if (from_j >= 8) v[r] = exchange_lanes(v[r], xor8(v[r]), 0xFF00);
    if (from_j >= 4) v[r] = exchange_lanes(v[r], xor4(v[r]), 0xF0F0);
    if (from_j >= 2) v[r] = exchange_lanes(v[r], xor2(v[r]), 0xCCCC);
    v[r] = exchange_lanes(v[r], xor1(v[r]), 0xAAAA);
  }
}

// The lanes of register r that hold keys.
MOALIGN_AVX512_KEYS __mmask16 present_lanes(int r, std::size_t n) {
  const std::size_t at = static_cast<std::size_t>(r) * 16;
  return at >= n ? 0 : n - at >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - at)) - 1);
}

// Sorts keys[0..n) descending (R registers of 16: n <= 16 R), writes them back and their rows
// (key & row_bits) to order[0..n). Returns whether two neighbours agree above the row bits (a
// run to re-sort by value), found in the registers too.
template <int R>
__attribute__((target("avx512f"))) bool bitonic_order(std::uint32_t* keys, std::size_t n, std::uint32_t row_bits, std::uint32_t* order) {
  __m512i v[R];
  const __m512i zero = _mm512_setzero_si512();
  for (int r = 0; r < R; ++r) v[r] = _mm512_mask_loadu_epi32(zero, present_lanes(r, n), keys + 16 * r);
  // Sorted runs of 2, 4, 8, 16 inside each register: flips l ^ 1, l ^ 3, l ^ 7, l ^ 15, each
  // with its cleaners.
  for (int r = 0; r < R; ++r) v[r] = exchange_lanes(v[r], xor1(v[r]), 0xAAAA);
  for (int r = 0; r < R; ++r) v[r] = exchange_lanes(v[r], xor3(v[r]), 0xCCCC);
  clean_lanes<R>(v, 1);
  for (int r = 0; r < R; ++r) v[r] = exchange_lanes(v[r], xor4(xor3(v[r])), 0xF0F0);
  clean_lanes<R>(v, 2);
  for (int r = 0; r < R; ++r) v[r] = exchange_lanes(v[r], reverse(v[r]), 0xFF00);
  clean_lanes<R>(v, 4);
  // Runs of 32 .. 16R keys: `regs` registers each. The flip pairs register a with the reversed
  // register a ^ (regs - 1); then half-cleaners across registers, then inside them.
  for (int regs = 2; regs <= R; regs *= 2) {
    for (int a = 0; a < R; ++a) {
      const int b = a ^ (regs - 1);
      if (b < a) continue;
      const __m512i vb = reverse(v[b]);
      const __m512i hi = max_keys(v[a], vb), lo = min_keys(v[a], vb);
      v[a] = hi;
      v[b] = reverse(lo);
    }
    for (int d = regs / 4; d >= 1; d /= 2) {
      for (int a = 0; a < R; ++a) {
        if (a & d) continue;
        const __m512i hi = max_keys(v[a], v[a + d]), lo = min_keys(v[a], v[a + d]);
        v[a] = hi;
        v[a + d] = lo;
      }
    }
    clean_lanes<R>(v, 8);
  }
  const __m512i rows = _mm512_set1_epi32(static_cast<int>(row_bits));
  const __m512i above_rows = _mm512_set1_epi32(static_cast<int>(~row_bits));
  __mmask16 runs = 0;
  for (int r = 0; r < R; ++r) {
    const __mmask16 present = present_lanes(r, n);
    _mm512_mask_storeu_epi32(keys + 16 * r, present, v[r]);
    _mm512_mask_storeu_epi32(order + 16 * r, present, _mm512_and_si512(v[r], rows));
    // Lane l against the key after it (lane l + 1, or the next register's first).
    const __m512i next = _mm512_maskz_alignr_epi32(0xFFFF, r + 1 < R ? v[r + 1] : zero, v[r], 1);
    const __mmask16 has_next = static_cast<__mmask16>(present >> 1 | (present_lanes(r + 1, n) & 1 ? 0x8000 : 0));
    runs |= _mm512_mask_testn_epi32_mask(has_next, _mm512_xor_si512(v[r], next), above_rows);
  }
  return runs != 0;
}
#endif

// From this many keys on, the radix sort is the faster one (callgrind: its fixed cost is the
// 8 x 256 counters, the merges' about 12 instructions per key and pass; they cross near 700).
constexpr std::size_t kRadixMin = 1024;

}  // namespace

void descending_order(const double* values, std::size_t n, std::size_t stride, std::vector<std::uint32_t>& order) {
  order.resize(n);
  if (n == 0) return;
  const auto value = [&](std::uint32_t r) { return values[r * stride]; };
  // Runs whose keys agree above the row bits: exact order by value, then row, both descending.
  const auto resort_runs = [&](const auto* sorted, auto row_bits) {
    const auto same_run = [&](std::size_t a, std::size_t b) { return ((sorted[a] ^ sorted[b]) & ~row_bits) == 0; };
    for (std::size_t i = 1; i < n; ++i) {
      if (!same_run(i - 1, i)) continue;
      std::size_t hi = i + 1;
      bool one_value = value(order[i - 1]) == value(order[i]);
      for (; hi < n && same_run(i - 1, hi); ++hi) one_value &= value(order[hi]) == value(order[i - 1]);
      if (!one_value) {
        std::sort(order.begin() + static_cast<std::ptrdiff_t>(i - 1), order.begin() + static_cast<std::ptrdiff_t>(hi),
                  [&](std::uint32_t a, std::uint32_t b) { return value(a) > value(b) || (value(a) == value(b) && a > b); });
      }
      i = hi;
    }
  };
#ifdef MOALIGN_BITONIC_AVX512
  if (n <= kBitonicMax && cpu_has_avx512()) {
    std::uint32_t keys[kBitonicMax];
    const std::uint32_t row_bits = fill_keys(values, n, stride, keys);
    const bool runs = n <= 16   ? bitonic_order<1>(keys, n, row_bits, order.data())
                      : n <= 32 ? bitonic_order<2>(keys, n, row_bits, order.data())
                      : n <= 64 ? bitonic_order<4>(keys, n, row_bits, order.data())
                                : bitonic_order<8>(keys, n, row_bits, order.data());
    if (runs) resort_runs(keys, row_bits);
    return;
  }
#endif
  thread_local std::vector<std::uint64_t> keys, scratch;
  keys.resize(n);
  scratch.resize(n);
  const std::uint64_t row_bits = fill_keys(values, n, stride, keys.data());
  const std::uint64_t* sorted = n >= kRadixMin ? radix_sort_desc(keys.data(), scratch.data(), n) : sort_desc(keys.data(), scratch.data(), n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(sorted[i] & row_bits);
  resort_runs(sorted, row_bits);
  if (n > (std::size_t{1} << 16)) keys = scratch = {};  // a sort of a large pool keeps no memory
}

}  // namespace moalign::moo
