// m = 2: sort by q1 descending and sweep; each strip (q1_j - q1_{j+1}) has the height of the
// highest q2 seen so far. Rows tied in q1 may come in any order: the strips between them are 0
// wide, and the last one of the run has the same height whatever the order.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "descending_order.h"
#include "hv_kernels.h"

namespace moalign::moo {

double hv1d(const double* q, std::size_t n) {
  double best = 0;
  for (std::size_t i = 0; i < n; ++i) best = std::max(best, q[i]);
  return best;
}

double hv2d(double* q, std::size_t n) {
  if (n == 0) return 0;
  thread_local std::vector<std::uint32_t> order;  // per thread: batches call this for many small fronts
  descending_order(q, n, 2, order);
  double hv = 0, ymax = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const double* r = q + 2 * order[j];
    ymax = std::max(ymax, r[1]);
    const double next_x = j + 1 < n ? q[2 * order[j + 1]] : 0.0;
    hv += (r[0] - next_x) * ymax;
  }
  return hv;
}

}  // namespace moalign::moo
