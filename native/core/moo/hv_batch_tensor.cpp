// The tensor form of the batched 2-D and 3-D hypervolume (metrics.md §2.3), for the GPU: fronts
// are shifted on the host, padded to the longest with zero rows (a zero row adds nothing), and
// reduced with sorts, cumulative maxima and sums, in float64.
//   m = 2: sort by q1 descending; HV = sum_i (q1_i - q1_{i+1}) * cummax(q2)_i.
//   m = 3: the O(n^2) slice form. Slice j holds the points of q3-rank <= j; its area A_j is the
//          2-D sweep over the q1 order with the other points' q2 set to 0;
//          HV = sum_j A_j (c_j - c_{j+1}), c_j the j-th largest q3. Memory B * n^2, so fronts go
//          in chunks.
#include <ATen/Context.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "core/errors.h"
#include "hypervolume.h"

namespace moalign::moo {

namespace {

// Strips of the sweep: x_i - x_{i+1} along dim 1, with x_{n+1} = 0.  (B, N) -> (B, N)
at::Tensor strip_widths(const at::Tensor& xs_desc) {
  const int64_t n = xs_desc.size(1);
  return xs_desc.sub(at::constant_pad_nd(xs_desc.narrow(1, 1, n - 1), {0, 1}));
}

at::Tensor hv2d_tensor(const at::Tensor& q) {  // (B, N, 2) -> (B)
  auto [xs, order] = q.select(2, 0).sort(1, /*descending=*/true);
  const at::Tensor ys = q.select(2, 1).gather(1, order);
  return strip_widths(xs).mul(std::get<0>(ys.cummax(1))).sum(1);
}

at::Tensor hv3d_tensor(const at::Tensor& q) {  // (B, N, 3) -> (B)
  const int64_t b = q.size(0), n = q.size(1);
  auto [zs, z_order] = q.select(2, 2).sort(1, /*descending=*/true);                       // (B, N)
  const at::Tensor positions = at::arange(n, z_order.options()).expand({b, n});
  const at::Tensor z_rank = at::empty_like(z_order).scatter_(1, z_order, positions);      // (B, N)
  auto [xs, x_order] = q.select(2, 0).sort(1, /*descending=*/true);                       // (B, N)
  const at::Tensor ys = q.select(2, 1).gather(1, x_order);                                // (B, N)
  const at::Tensor z_rank_x = z_rank.gather(1, x_order);                                  // (B, N)
  const at::Tensor slices = at::arange(n, z_order.options()).view({1, n, 1});             // (1, N, 1)
  const at::Tensor active = z_rank_x.unsqueeze(1).le(slices).to(q.scalar_type());        // (B, N, N)
  const at::Tensor heights = std::get<0>(ys.unsqueeze(1).mul(active).cummax(2));          // (B, N, N)
  const at::Tensor area = heights.mul(strip_widths(xs).unsqueeze(1)).sum(2);               // (B, N)
  return area.mul(strip_widths(zs)).sum(1);
}

}  // namespace

BatchResult hypervolume_batch_tensor(const FrontBatch& b, const MinimiseMask& mask, const std::string& device,
                                     const CancelToken& cancel) {
  check_batch(b);
  check_mask(mask, b.m);
  if (b.m != 2 && b.m != 3) {
    throw InvalidArgument("the tensor hypervolume path handles 2 and 3 objectives, not " + std::to_string(b.m) +
                          "; use the CPU path");
  }
  const c10::Device dev(device);
  if (dev.is_cuda() && !at::hasCUDA())
    throw InvalidArgument("device '" + device + "' needs a libtorch built with CUDA and a visible GPU; this one has none");
  c10::InferenceMode no_autograd;

  // Shift every front on the host, remembering each kept front's rows.
  BatchResult out;
  out.hypervolume.assign(b.fronts, 0.0);
  out.dropped.assign(b.fronts, 0);
  std::vector<std::vector<double>> shifted(b.fronts);
  std::size_t n_max = 1;
  for (std::size_t f = 0; f < b.fronts; ++f) {
    out.dropped[f] = static_cast<std::int32_t>(shift_to_origin(b.front(f), b.front_ref(f), mask, shifted[f]));
    n_max = std::max(n_max, shifted[f].size() / b.m);
  }
  // Chunks of fronts small enough for the (B, N, N) slice tensors of m = 3.
  const std::size_t per_front = b.m == 3 ? n_max * n_max : n_max;
  const std::size_t chunk = std::max<std::size_t>(1, (std::size_t{1} << 25) / per_front);
  std::vector<double> host;
  for (std::size_t f0 = 0; f0 < b.fronts; f0 += chunk) {
    cancel.throw_if_cancelled();
    const std::size_t count = std::min(chunk, b.fronts - f0);
    host.assign(count * n_max * b.m, 0.0);
    for (std::size_t f = 0; f < count; ++f) std::copy(shifted[f0 + f].begin(), shifted[f0 + f].end(), host.data() + f * n_max * b.m);
    const at::Tensor q = at::from_blob(host.data(), {static_cast<int64_t>(count), static_cast<int64_t>(n_max), static_cast<int64_t>(b.m)},
                                       at::TensorOptions().dtype(at::kDouble))
                             .to(dev);
    const at::Tensor hv = (b.m == 2 ? hv2d_tensor(q) : hv3d_tensor(q)).to(at::kCPU).contiguous();
    std::copy_n(hv.data_ptr<double>(), count, out.hypervolume.data() + f0);
  }
  return out;
}

}  // namespace moalign::moo
