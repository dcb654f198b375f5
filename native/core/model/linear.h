// A projection y = x W^T + b with an optional adapter. GPT-2 stores its projections as
// Conv1D, W^T of shape (in, out); Llama as nn.Linear, W of shape (out, in). Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "core/adapters/adapter.h"

namespace moalign::model {

struct Linear {
  std::string name;     // the Hugging Face module name, e.g. "model.layers.0.self_attn.q_proj"
  at::Tensor weight;    // (out, in), or (in, out) when conv1d
  at::Tensor bias;      // (out) or undefined
  bool conv1d = false;
  std::shared_ptr<adapters::Adapter> adapter;  // null: plain projection
  bool adapter_enabled = true;
  bool merged = false;  // the adapter's delta is folded into `weight`
  // W0 as it was before merge(), so that unmerge() restores it bit for bit: subtracting the delta
  // again is not exact in low precision and drifts over preference switches (panacea.md §5).
  // Costs one copy of the merged weights while merged; undefined otherwise.
  at::Tensor weight_before_merge;

  int64_t in_features() const { return weight.size(conv1d ? 0 : 1); }
  int64_t out_features() const { return weight.size(conv1d ? 1 : 0); }

  // x: (..., in) -> (..., out)
  at::Tensor forward(const at::Tensor& x) const;

  // Folds the adapter into W, keeping W0 (forward then skips the adapter term); unmerge copies
  // W0 back into the same tensor (handles to `weight` stay valid).
  void merge();
  void unmerge();

  // W += scale * delta, for a delta (out, in) in nn.Linear's layout whatever the storage (Conv1D
  // stores W^T); the delta is cast to W's dtype and device. merge and weight soups
  // (CausalLM::merge_lora_from) go through here. No autograd.
  void add_delta(const at::Tensor& delta, double scale);
};

}  // namespace moalign::model
