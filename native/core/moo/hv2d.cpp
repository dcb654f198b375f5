// m = 2: sort by q1 descending and sweep; each strip (q1_j - q1_{j+1}) has the height of the
// highest q2 seen so far.
#include <algorithm>
#include <vector>

#include "hv_kernels.h"

namespace moalign::moo {

namespace {
struct XY {
  double x, y;
};
}  // namespace

double hv1d(const double* q, std::size_t n) {
  double best = 0;
  for (std::size_t i = 0; i < n; ++i) best = std::max(best, q[i]);
  return best;
}

double hv2d(double* q, std::size_t n) {
  if (n == 0) return 0;
  std::vector<XY> pts(n);
  for (std::size_t j = 0; j < n; ++j) pts[j] = {q[2 * j], q[2 * j + 1]};
  std::sort(pts.begin(), pts.end(), [](const XY& a, const XY& b) { return a.x > b.x || (a.x == b.x && a.y > b.y); });
  double hv = 0, ymax = 0;
  for (std::size_t j = 0; j < n; ++j) {
    ymax = std::max(ymax, pts[j].y);
    const double next_x = j + 1 < n ? pts[j + 1].x : 0.0;
    hv += (pts[j].x - next_x) * ymax;
  }
  return hv;
}

}  // namespace moalign::moo
