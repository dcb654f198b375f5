#include "core/train/linear_cross_entropy.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

namespace moalign::train {

namespace {

// Rows per chunk: about 32 MB of float32 logits at a time.
int64_t chunk_rows(int64_t n, int64_t vocab) { return std::clamp<int64_t>((int64_t{1} << 23) / std::max<int64_t>(vocab, 1), 1, std::max<int64_t>(n, 1)); }

struct LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& h, const at::Tensor& weight, const at::Tensor& target,
                            int64_t ignore_index) {
    const int64_t N = h.size(0), V = weight.size(0);
    const at::Tensor valid = target.ne(ignore_index);
    const double count = static_cast<double>(valid.sum().item<int64_t>());
    at::Tensor grad_h = at::zeros_like(h);
    at::Tensor grad_w = weight.requires_grad() ? at::zeros(weight.sizes(), weight.options().dtype(at::kFloat)) : at::Tensor();
    at::Tensor loss = at::zeros({}, h.options().dtype(at::kFloat));
    const int64_t K = chunk_rows(N, V);
    for (int64_t i = 0; i < N; i += K) {
      const int64_t k = std::min(K, N - i);
      const at::Tensor hc = h.narrow(0, i, k), tc = target.narrow(0, i, k), vc = valid.narrow(0, i, k);
      const at::Tensor index = tc.clamp_min(0).unsqueeze(1);                                  // (k, 1)
      at::Tensor logits = at::matmul(hc, weight.t()).to(at::kFloat);                          // (k, V)
      const at::Tensor lse = at::logsumexp(logits, {1}, /*keepdim=*/true);                    // (k, 1)
      loss += ((lse.squeeze(1) - logits.gather(1, index).squeeze(1)) * vc).sum();
      // d(mean loss)/d logits = (softmax - onehot) * valid / count, built in place over logits
      at::Tensor g = logits.sub_(lse).exp_();
      g.scatter_add_(1, index, at::zeros({k, 1}, g.options()) - 1.0);
      g.mul_((vc.to(at::kFloat) / count).unsqueeze(1));
      const at::Tensor gh = g.to(h.scalar_type());
      grad_h.narrow(0, i, k).copy_(at::matmul(gh, weight.to(h.scalar_type())));             // (k, C)
      if (grad_w.defined()) grad_w.addmm_(g.t(), hc.to(at::kFloat));                         // (V, C)
    }
    ctx->save_for_backward({grad_h, grad_w});
    return loss / count;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& scale = grad_out[0];
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
