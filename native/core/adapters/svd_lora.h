// Panacea's SVD-LoRA (Zhong et al. 2024; design: shared/design/panacea.md §2–5). One adapted
// projection serves every trade-off between m objectives: the preference λ is written into m of
// the adapter's singular values at run time,
//
//   W(λ) = W0 + c U diag(σ_1..σ_k, s λ_1..s λ_m) V^T,   c = alpha / k,   r = k + m
//
// with U (out, r), V (in, r), σ (k) and the per-matrix scale s (1) learned, and λ a buffer that
// is never trained. λ is one row (every sample shares it) or one row per batch row (B, m): λ only
// enters through the diagonal, so a batch can mix preferences at no extra cost. Core-internal.
#pragma once
#include <ATen/core/Generator.h>

#include <memory>
#include <optional>
#include <string>

#include "core/adapters/adapter.h"

namespace moalign::adapters {

// The adapter input's dropout (peft's lora_dropout), shared by every layer of one model. Masks are
// drawn only while a stream is started (the trainers start one per micro-batch from their seed, so
// runs and resumes are reproducible) and only in forward passes under grad mode: never in
// generate, logits, log-probs or a DPO reference pass. p = 0: never.
struct DropoutStream {
  double p = 0;
  std::optional<at::Generator> generator;  // set between start and stop

  bool active() const { return p > 0 && generator.has_value(); }
  void start(uint64_t seed);
  void stop();
};

class SvdLora final : public Adapter {
 public:
  // U (out, r), V (in, r), sigma (k), s (1), all the same floating dtype; they become trainable
  // leaves. `name` (the module's) is only for error messages. `dropout`: the model's stream, or null.
  SvdLora(std::string name, at::Tensor u, at::Tensor v, at::Tensor sigma, at::Tensor s, double alpha,
          std::shared_ptr<DropoutStream> dropout = nullptr);

  // x W0^T + b + c ((x V) ⊙ D) U^T as one autograd function, the frozen projection included (no
  // ΔW is formed); x (..., in), or (B, T, in) when λ holds B > 1 rows. Throws when no preference
  // is set.
  at::Tensor forward(const at::Tensor& x, const FrozenProjection& base) const override;
  // c U diag(D) V^T (out, in) in float32, for the single λ set (or B equal rows).
  at::Tensor delta_weight() const override;
  // svd_lora_U, svd_lora_V, svd_lora_sigma, svd_lora_s. Never λ: it is not trained (pitfall 1).
  std::vector<std::pair<std::string, at::Tensor>> parameters() const override;

  // λ (m), (1, m) or (B, m), copied into a no-grad buffer of the parameters' dtype and device.
  // Shape checks only: the caller (CausalLM::set_preference) checks that rows lie on the simplex.
  void set_preference(const at::Tensor& lambda);
  void clear_preference() { lambda_ = at::Tensor(); }
  const at::Tensor& preference() const { return lambda_; }  // (R, m) or undefined

  const at::Tensor& u() const { return u_; }  // (out, r), the trainable leaf
  const at::Tensor& v() const { return v_; }  // (in, r)
  int64_t k() const { return sigma_.size(0); }
  int64_t m() const { return u_.size(1) - sigma_.size(0); }
  double alpha() const { return alpha_; }
  double scaling() const { return alpha_ / static_cast<double>(k()); }  // c = alpha / k, not / (k + m)

 private:
  const at::Tensor& checked_preference() const;  // λ, or an error naming the fix
  // keep (x's shape, the parameters' dtype): Bernoulli(1 - p) / (1 - p), when dropout acts now;
  // else undefined.
  at::Tensor dropout_keep(const at::Tensor& x) const;

  std::string name_;
  at::Tensor u_, v_, sigma_, s_;
  at::Tensor lambda_;  // (R, m): R = 1 for one preference, or one row per batch row
  double alpha_;
  std::shared_ptr<DropoutStream> dropout_;
};

// The fused layer as a plain function of its tensors, for tests against the unfused formula:
// x (..., in), the frozen projection `base` (its weight and bias may require grad too), lambda
// (R, m): R = 1, or R = B with x (B, T, in). keep (x's shape), when defined: the adapter path sees
// x ⊙ keep (inverted dropout: keep = mask / (1 - p)), the frozen path x itself.
at::Tensor svd_lora_apply(const at::Tensor& x, const FrozenProjection& base, const at::Tensor& u, const at::Tensor& v, const at::Tensor& sigma,
                          const at::Tensor& s, const at::Tensor& lambda, double scaling, const at::Tensor& keep = at::Tensor());

}  // namespace moalign::adapters
