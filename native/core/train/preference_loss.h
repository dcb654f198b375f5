// The losses of preference training as pure tensor functions, separate from the training loop so
// that they can be tested on fixed numbers (design: ../shared/design/panacea.md §6.2–6.5).
//
// Every objective i has per-item losses ℓ_{b,i} with item weights w_{b,i} ≥ 0 (DPO: w = |o_{b,i}|,
// SFT: the given weights). Objective i's loss is the weighted mean L_i = Σ_b w_{b,i} ℓ_{b,i} / Σ_b w_{b,i};
// an objective with Σ_b w_{b,i} = 0 is absent from the micro-batch and is left out of the
// aggregation. The functions compute in their inputs' dtype (float64 in, float64 out) on their
// device, and stay differentiable. Core-internal (ATen in the interface).
#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace moalign::train {

struct ObjectiveLosses {
  at::Tensor item;     // (B, m) ℓ_{b,i}; 0 where w_{b,i} = 0
  at::Tensor weight;   // (B, m) w_{b,i}
  at::Tensor losses;   // (m) L_i; 0 where absent
  at::Tensor present;  // (m) bool: Σ_b w_{b,i} > 0
};

// DPO with m orderings of the same pairs (a, b). pol_* / ref_* (B) are summed response log-probs
// under the policy and the reference; labels (B, m) hold o_{b,i} ∈ {-1, 0, +1}.
//   h_b = β ((pol_a - ref_a) - (pol_b - ref_b));  ℓ_{b,i} = -log σ(o_{b,i} h_b) where o_{b,i} ≠ 0
// so L_i is the mean over the labelled items of objective i.
ObjectiveLosses dpo_objective_losses(const at::Tensor& pol_a, const at::Tensor& pol_b, const at::Tensor& ref_a, const at::Tensor& ref_b,
                                     const at::Tensor& labels, double beta);

// SFT: nll (B) is each item's mean NLL over its response tokens, weights (B, m) w_{b,i} ≥ 0;
// ℓ_{b,i} = nll_b, so L_i = Σ_b w_{b,i} nll_b / Σ_b w_{b,i}.
ObjectiveLosses sft_objective_losses(const at::Tensor& nll, const at::Tensor& weights);

struct Aggregation {
  std::string kind = "ls";  // ls | tche
  at::Tensor ideal;         // (m) z, a lower bound of every loss (tche); undefined = zeros
  double smoothing = 0;     // μ > 0: smooth Tchebycheff; 0 = the hard max
};

// The scalar loss to minimise, over the present objectives only:
//   λ (m) or (1, m), ls:   Σ_i λ_i L_i
//   λ (m) or (1, m), tche: max_i λ_i (L_i - z_i), or μ log Σ_i exp(λ_i (L_i - z_i) / μ) when μ > 0
//     (autograd of the hard max is λ_{i*} ∇L_{i*}, the active term's)
//   λ (B, m), ls only (per-sample λ): Σ_i Σ_b w_{b,i} λ_{b,i} ℓ_{b,i} / Σ_b w_{b,i}, which is
//     mean_b Σ_i λ_{b,i} ℓ_{b,i} when every item carries every objective with weight 1, and the
//     λ (m) form when all rows share λ.
// With no objective present the result is a zero that carries no gradient.
at::Tensor aggregate_losses(const ObjectiveLosses& losses, const at::Tensor& lambda, const Aggregation& aggregation);

}  // namespace moalign::train
