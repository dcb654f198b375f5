#include "core/train/linear_cross_entropy.h"

#include <ATen/TensorOperators.h>
#include <ATen/autocast_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <limits>

namespace moalign::train {

namespace {

// Rows per chunk: at most about 64 MB of float32 logits at a time (two such buffers live at
// once, the logits and their log-softmax), in chunks of equal size. Each chunk reads and writes
// dW (V, C) once, so fewer, larger chunks save passes over it.
int64_t chunk_rows(int64_t n, int64_t row_length) {
  const int64_t most = std::max<int64_t>((int64_t{1} << 24) / std::max<int64_t>(row_length, 1), 1);
  const int64_t chunks = (n + most - 1) / most;
  return std::max<int64_t>((n + chunks - 1) / std::max<int64_t>(chunks, 1), 1);
}

// Logit rows are stored with their length rounded up to 16 elements (64 bytes of float32). MKL's
// sgemm writes the (k, V) product about 1.8x faster into such rows than into rows of odd length
// (measured, 1 thread: 1,016 x 256 by 256 x 50,257 in 303 ms against 564), and the dh and dW
// products read them ~10% faster. The padding columns hold -inf: the log-softmax of a padded row
// is the one of its V logits, and their softmax is exactly 0.
int64_t padded(int64_t v) { return (v + 15) / 16 * 16; }

struct LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& h, const at::Tensor& weight, const at::Tensor& target,
                            int64_t ignore_index) {
    const int64_t N = h.size(0), V = weight.size(0), Vp = padded(V);
    // The logits product runs in autocast's dtype when autocast is on (as at::matmul would), else
    // in h's; the log-softmax and dW in float32.
    const at::DeviceType device = h.device().type();
    const at::ScalarType dtype = at::autocast::is_autocast_enabled(device) ? at::autocast::get_autocast_dtype(device) : h.scalar_type();
    const at::Tensor w = weight.to(dtype);                             // (V, C)
    const at::Tensor valid = target.ne(ignore_index).to(at::kFloat);  // (N) 1 or 0
    const double count = valid.sum().item<double>();
    // Each row's weight in d(mean loss): 1 / count for valid rows, 0 for ignored ones. It scales
    // the (k, C) operands and results of the products below rather than the (k, V) gradient.
    const at::Tensor row_weight = (valid / count).unsqueeze(1);  // (N, 1)
    at::Tensor grad_h = at::empty_like(h);
    at::Tensor grad_w = weight.requires_grad() ? at::empty(weight.sizes(), weight.options().dtype(at::kFloat)) : at::Tensor();
    at::Tensor loss = at::zeros({}, h.options().dtype(at::kFloat));
    const int64_t K = chunk_rows(N, Vp);
    for (int64_t i = 0; i < N; i += K) {
      const int64_t k = std::min(K, N - i);
      const at::Tensor hc = h.narrow(0, i, k), rc = row_weight.narrow(0, i, k);
      const at::Tensor index = target.narrow(0, i, k).clamp_min(0).unsqueeze(1);  // (k, 1); ignored rows point at 0, weight 0
      at::Tensor g;  // (k, Vp) float32
      {
        at::Tensor logits = at::empty({k, Vp}, h.options().dtype(dtype));
        at::Tensor out = logits.narrow(1, 0, V);  // (k, V), rows Vp apart
        at::mm_out(out, hc.to(dtype), w.t());
        logits.narrow(1, V, Vp - V).fill_(-std::numeric_limits<double>::infinity());
        g = at::log_softmax(logits.to(at::kFloat), 1);  // log p = z - logsumexp(z), one fused pass
      }
      loss -= (g.gather(1, index).squeeze(1) * valid.narrow(0, i, k)).sum();
      // d loss_row / d logits = softmax - onehot(target), built in place over log p
      g.exp_().scatter_add_(1, index, at::ones({k, 1}, g.options()).neg_());
      const at::Tensor gv = g.narrow(1, 0, V);                                    // (k, V), rows Vp apart
      grad_h.narrow(0, i, k).copy_(at::matmul(gv.to(h.scalar_type()), w) * rc);  // (k, C)
      // dW (V, C) = sum over chunks of g^T (row_weight h); the first chunk writes it (beta 0: its
      // uninitialised contents are ignored), the others add to it.
      if (grad_w.defined()) grad_w.addmm_(gv.t(), hc.to(at::kFloat) * rc, /*beta=*/i == 0 ? 0 : 1);
    }
    ctx->save_for_backward({grad_h, grad_w});
    return loss / count;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& scale = grad_out[0];
    // loss.backward() seeds 1: the saved gradients are the answer, with no pass over dW (V, C).
    if (scale.item<double>() == 1.0) return {saved[0], saved[1], at::Tensor(), at::Tensor()};
    at::Tensor gh = saved[0] * scale.to(saved[0].scalar_type());
    at::Tensor gw = saved[1].defined() ? saved[1] * scale : at::Tensor();
    return {gh, gw, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor linear_cross_entropy(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& target, int64_t ignore_index) {
  return LinearCrossEntropy::apply(h, weight, target, ignore_index);
}

}  // namespace moalign::train
