// AdamW (Loshchilov & Hutter) with decoupled weight decay, as torch.optim.AdamW computes it,
// through ATen's fused kernel:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p *= 1 - lr wd
//   p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)
// Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace moalign::train {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options);

  // One update with learning rate `lr`; parameters without a gradient are skipped (as
  // torch.optim does: their moments and step count stay as they are).
  void step(double lr);
  // Drops every gradient (leaves them undefined, PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  int64_t steps() const { return steps_; }
  // Moments under "<param>.exp_avg" / "<param>.exp_avg_sq", and the step count, for checkpoints.
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& state, int64_t steps);
  const std::vector<std::pair<std::string, at::Tensor>>& params() const { return params_; }

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_, step_tensors_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

// Scales every gradient so that their joint L2 norm is at most `max_norm` (0: no clipping).
// Returns the norm before clipping.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace moalign::train
