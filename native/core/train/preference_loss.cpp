#include "core/train/preference_loss.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/log_sigmoid.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/zeros.h>

#include <cmath>
#include <limits>

#include "core/errors.h"

namespace moalign::train {

namespace {

std::string shape_of(const at::Tensor& t) {
  std::string s = "(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + ")";
}

// L_i = Σ_b w ℓ / Σ_b w over the items that carry objective i; item (B, m) is already 0 elsewhere.
ObjectiveLosses reduce(at::Tensor item, at::Tensor weight) {
  const at::Tensor total = weight.sum(0);  // (m)
  const at::Tensor present = total.gt(0);
  // An absent objective divides 0 by 1, keeping the result (and its gradient) finite.
  const at::Tensor denominator = total + present.logical_not().to(total.scalar_type());
  at::Tensor losses = (weight * item).sum(0) / denominator;
  return {std::move(item), std::move(weight), std::move(losses), present};
}

}  // namespace

ObjectiveLosses dpo_objective_losses(const at::Tensor& pol_a, const at::Tensor& pol_b, const at::Tensor& ref_a, const at::Tensor& ref_b,
                                     const at::Tensor& labels, double beta) {
  if (labels.dim() != 2 || pol_a.dim() != 1 || labels.size(0) != pol_a.size(0))
    throw InvalidArgument("DPO losses: labels must be (B, m) and log-probs (B), got labels " + shape_of(labels) + " and log-probs " + shape_of(pol_a));
  for (const at::Tensor* t : {&pol_b, &ref_a, &ref_b})
    if (t->sizes() != pol_a.sizes()) throw InvalidArgument("DPO losses: the four log-prob tensors must share one shape (B)");
  const at::Tensor h = beta * ((pol_a - ref_a) - (pol_b - ref_b));  // (B)
  const at::Tensor o = labels.to(h.scalar_type()).to(h.device());     // (B, m)
  const at::Tensor weight = o.abs();                                   // (B, m) 1 where labelled
  // -log σ(0) = log 2 on unlabelled entries, masked out by weight 0 (never a NaN to mask).
  const at::Tensor item = -at::log_sigmoid(o * h.unsqueeze(1)) * weight;  // (B, m)
  return reduce(item, weight);
}

ObjectiveLosses sft_objective_losses(const at::Tensor& nll, const at::Tensor& weights) {
  if (weights.dim() != 2 || nll.dim() != 1 || weights.size(0) != nll.size(0))
    throw InvalidArgument("SFT losses: weights must be (B, m) and nll (B), got weights " + shape_of(weights) + " and nll " + shape_of(nll));
  const at::Tensor w = weights.to(nll.scalar_type()).to(nll.device());  // (B, m)
  const at::Tensor item = nll.unsqueeze(1) * w.gt(0).to(nll.scalar_type());  // (B, m)
  return reduce(item, w);
}

at::Tensor aggregate_losses(const ObjectiveLosses& l, const at::Tensor& lambda_in, const Aggregation& a) {
  const int64_t m = l.losses.size(0);
  const auto dtype = l.losses.scalar_type();
  if (a.kind != "ls" && a.kind != "tche") throw InvalidArgument("aggregation must be ls or tche, not " + a.kind);
  at::Tensor lambda = lambda_in.to(dtype).to(l.losses.device());
  if (lambda.dim() == 2 && lambda.size(0) == 1) lambda = lambda.squeeze(0);
  if (lambda.size(-1) != m || lambda.dim() > 2)
    throw InvalidArgument("aggregation: λ must be (m), (1, m) or (B, m) with m = " + std::to_string(m) + ", got " + shape_of(lambda_in));
  const at::Tensor mask = l.present.to(dtype);  // (m)
  if (!l.present.any().item<bool>()) return at::zeros({}, l.losses.options());
  if (lambda.dim() == 2) {
    // Per-sample λ: only a sum of per-item terms has a per-sample form; a per-sample max would be
    // another estimator than Tchebycheff's max over batch means (design §6.3).
    if (a.kind != "ls") throw InvalidArgument("a λ per sample works with linear scalarisation (ls) only, not " + a.kind);
    if (lambda.size(0) != l.item.size(0))
      throw InvalidArgument("aggregation: λ has " + std::to_string(lambda.size(0)) + " rows for " + std::to_string(l.item.size(0)) + " items");
    const at::Tensor total = l.weight.sum(0) + (1 - mask);                                     // (m), 1 where absent
    return ((l.weight * lambda * l.item).sum(0) / total * mask).sum();
  }
  if (a.kind == "ls") return (lambda * l.losses * mask).sum();
  at::Tensor ideal = a.ideal.defined() ? a.ideal.to(dtype).to(l.losses.device()) : at::zeros({m}, l.losses.options());
  if (ideal.dim() != 1 || ideal.size(0) != m) throw InvalidArgument("Tchebycheff: the ideal point must have m = " + std::to_string(m) + " values");
  const at::Tensor terms = (lambda * (l.losses - ideal)).masked_fill(l.present.logical_not(), -std::numeric_limits<double>::infinity());  // (m)
  if (a.smoothing < 0 || !std::isfinite(a.smoothing)) throw InvalidArgument("Tchebycheff smoothing must be a finite number >= 0");
  if (a.smoothing == 0) return terms.max();
  return a.smoothing * at::logsumexp(terms / a.smoothing, {0});
}

}  // namespace moalign::train
