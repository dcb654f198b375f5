// A set of integer keys in [0, capacity) with O(log64 capacity) insert, erase, successor and
// predecessor: 64-way bit trees, a few cache lines per query. The sweeps keep their staircases
// in one, keyed by the rank of a coordinate, instead of a pointer-chasing balanced tree.
#pragma once
#include <bit>
#include <cstdint>
#include <vector>

namespace moalign::moo {

class SuccessorSet {
 public:
  static constexpr std::int64_t kNone = -1;

  explicit SuccessorSet(std::size_t capacity = 0) { reset(capacity); }

  // Empties the set and sizes it for keys below `capacity`.
  void reset(std::size_t capacity) {
    levels_.clear();
    std::size_t bits = capacity > 0 ? capacity : 1;
    do {
      const std::size_t words = (bits + 63) / 64;
      levels_.emplace_back(words, 0);
      bits = words;
    } while (bits > 1);
  }

  bool contains(std::int64_t key) const noexcept {
    return (levels_[0][key >> 6] >> (key & 63)) & 1;
  }

  void insert(std::int64_t key) noexcept {
    for (auto& level : levels_) {
      const std::uint64_t before = level[key >> 6];
      level[key >> 6] = before | (std::uint64_t{1} << (key & 63));
      if (before) return;  // the parents already see this word as non-empty
      key >>= 6;
    }
  }

  void erase(std::int64_t key) noexcept {
    for (auto& level : levels_) {
      level[key >> 6] &= ~(std::uint64_t{1} << (key & 63));
      if (level[key >> 6]) return;
      key >>= 6;
    }
  }

  // Smallest key >= `key`, or kNone.
  std::int64_t successor(std::int64_t key) const noexcept {
    std::size_t depth = 0;
    for (;; ++depth) {
      if (depth == levels_.size()) return kNone;
      const std::size_t word = static_cast<std::size_t>(key >> 6);
      if (word < levels_[depth].size()) {
        const std::uint64_t bits = levels_[depth][word] & (~std::uint64_t{0} << (key & 63));
        if (bits) {
          key = static_cast<std::int64_t>((word << 6) | std::countr_zero(bits));
          break;
        }
      }
      key = static_cast<std::int64_t>(word) + 1;  // first key of the next word, one level up
    }
    while (depth-- > 0) key = (key << 6) | std::countr_zero(levels_[depth][key]);
    return key;
  }

  // Largest key <= `key`, or kNone.
  std::int64_t predecessor(std::int64_t key) const noexcept {
    if (key < 0) return kNone;
    std::size_t depth = 0;
    for (;; ++depth) {
      if (depth == levels_.size()) return kNone;
      const std::size_t word = static_cast<std::size_t>(key >> 6);
      const std::uint64_t bits = levels_[depth][word] & (~std::uint64_t{0} >> (63 - (key & 63)));
      if (bits) {
        key = static_cast<std::int64_t>((word << 6) | (63 - std::countl_zero(bits)));
        break;
      }
      if (word == 0) return kNone;
      key = static_cast<std::int64_t>(word) - 1;  // last key of the previous word, one level up
    }
    while (depth-- > 0) key = (key << 6) | (63 - std::countl_zero(levels_[depth][key]));
    return key;
  }

 private:
  std::vector<std::vector<std::uint64_t>> levels_;  // levels_[0] holds the keys; level d+1 has a bit per word of level d
};

}  // namespace moalign::moo
