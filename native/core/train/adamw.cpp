#include "core/train/adamw.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>

#include "core/errors.h"

namespace moalign::train {

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options) : params_(std::move(params)), options_(options) {
  if (params_.empty()) throw InvalidArgument("AdamW: nothing to train (no parameter requires a gradient)");
  for (const auto& [name, p] : params_) {
    exp_avg_.push_back(at::zeros_like(p));
    exp_avg_sq_.push_back(at::zeros_like(p));
    step_tensors_.push_back(at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(p.device())));
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> p, g, m, v, t;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor& param = params_[i].second;
    if (!param.grad().defined()) continue;
    p.push_back(param);
    g.push_back(param.grad());
    m.push_back(exp_avg_[i]);
    v.push_back(exp_avg_sq_[i]);
    step_tensors_[i].add_(1);
    t.push_back(step_tensors_[i]);
  }
  ++steps_;
  if (p.empty()) return;
  at::_fused_adamw_(p, g, m, v, {}, t, lr, options_.beta1, options_.beta2, options_.weight_decay, options_.eps, false, false);
}

void AdamW::zero_grad() {
  // Dropped, not zeroed (PyTorch's set_to_none): backward then hands each parameter its first
  // gradient as is instead of adding it into a zero-filled one, which saves a fill and an add
  // over every trainable tensor per step.
  for (auto& [name, p] : params_) p.mutable_grad().reset();
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(params_[i].first + ".exp_avg", exp_avg_[i]);
    out.emplace_back(params_[i].first + ".exp_avg_sq", exp_avg_sq_[i]);
    out.emplace_back(params_[i].first + ".step", step_tensors_[i]);
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, at::Tensor>>& state, int64_t steps) {
  at::NoGradGuard no_grad;
  auto find = [&](const std::string& name) -> const at::Tensor& {
    for (const auto& [n, t] : state)
      if (n == name) return t;
    throw InvalidArgument("optimizer state has no " + name);
  };
  for (std::size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(find(params_[i].first + ".exp_avg"));
    exp_avg_sq_[i].copy_(find(params_[i].first + ".exp_avg_sq"));
    step_tensors_[i].copy_(find(params_[i].first + ".step"));
  }
  steps_ = steps;
}

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0;
  const std::vector<at::Tensor> norms = at::_foreach_norm(grads, 2, at::kFloat);
  const double total = at::stack(norms).to(at::kDouble).pow(2).sum().sqrt().item<double>();
  if (max_norm > 0 && total > max_norm) at::_foreach_mul_(grads, max_norm / (total + 1e-6));
  return total;
}

}  // namespace moalign::train
