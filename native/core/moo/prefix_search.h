// Binary search without data-dependent branches, for the sweeps' staircases: their searches run
// on keys in random order, where std::lower_bound mispredicts about every other step.
#pragma once
#include <cstddef>

namespace moalign::moo {

// The length of the prefix of v[0..len) whose entries satisfy `in` (which must hold for a prefix:
// e.g. "< y" on ascending values). Each step selects by masking; the loop runs log2(len) times
// whatever the values.
template <typename T, typename In>
std::size_t prefix_length(const T* v, std::size_t len, In in) {
  if (len == 0) return 0;
  std::size_t at = 0;
  for (; len > 1;) {
    const std::size_t half = len / 2;
    at += half & (std::size_t{0} - static_cast<std::size_t>(in(v[at + half - 1])));
    len -= half;
  }
  return at + static_cast<std::size_t>(in(v[at]));
}

}  // namespace moalign::moo
