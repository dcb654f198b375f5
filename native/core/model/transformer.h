// The decoder-only transformer body for both layouts, llm.c style: weights in plain structs,
// one forward function per piece, shapes in comments. B batch, T new tokens, S cached + new
// slots, C hidden, H heads, Hkv key/value heads, D head size, V vocabulary. Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/model/config.h"
#include "core/model/linear.h"
#include "core/model/weight_source.h"

namespace moalign::model {

struct Norm {
  at::Tensor weight, bias;  // bias: LayerNorm only
  bool rms = false;
  double eps = 1e-5;
  at::Tensor forward(const at::Tensor& x) const;  // (..., C)
};

struct Block {
  Norm norm1, norm2;
  Linear c_attn;               // GPT-2: fused q, k, v  (C -> 3C)
  Linear q, k, v;              // Llama: C -> H D, C -> Hkv D, C -> Hkv D
  Linear o;                    // attention output (GPT-2 attn.c_proj, Llama o_proj)
  Linear fc, mlp_proj;         // GPT-2 mlp.c_fc, mlp.c_proj
  Linear gate, up, down;       // Llama SwiGLU
};

// Keys and values of every layer for the slots seen so far. All rows share slot indices (left
// padding lines prompts up on the right), so one `length` serves the batch.
struct KvCache {
  std::vector<at::Tensor> k, v;  // per layer (B, Hkv, S_max, D)
  int64_t length = 0;            // filled slots
};

// What the attention may see: `key_mask` (B, S) true for real (non-padding) slots; queries sit at
// slots [start, start + T). An empty key_mask means "no padding": plain causal attention.
struct AttentionMask {
  at::Tensor key_mask;
  int64_t start = 0;
  at::Tensor dense(int64_t T, int64_t S) const;  // (B, 1, T, S) bool
};

class Transformer {
 public:
  // Takes every tensor the config needs from `weights` (a checkpoint: errors name a missing
  // tensor; or a fresh draw with GPT-2's initialisation), as `dtype`.
  Transformer(const ModelConfig& config, const WeightSource& weights, at::ScalarType dtype);

  const ModelConfig& config() const { return config_; }

  // ids, positions (B, T) int64 -> final-normed hidden states (B, T, C). With a cache, keys and
  // values are written at slots [cache.length, cache.length + T) and cache.length advances.
  at::Tensor hidden(const at::Tensor& ids, const at::Tensor& positions, const AttentionMask& mask, KvCache* cache) const;

  at::Tensor lm_logits(const at::Tensor& h) const;  // (B, T, C) -> (B, T, V)
  at::Tensor scores(const at::Tensor& h) const;     // (B, T, C) -> (B, T, num_labels)
  const at::Tensor& lm_head() const { return lm_head_; }  // (V, C); undefined for classifiers

  // Activation checkpointing: with gradients on, each block keeps only its input and recomputes
  // its activations during backward (less memory, about one more forward pass of time).
  void set_activation_checkpointing(bool on) { checkpointing_ = on; }
  // x + attention + MLP of block `layer` (B, T, C) -> (B, T, C).
  at::Tensor block(int64_t layer, const at::Tensor& x, const at::Tensor& positions, const AttentionMask& mask, KvCache* cache) const;

  // Moves every tensor to `device` (call before adapters are attached or training starts).
  void to(const at::Device& device);

  KvCache new_cache(int64_t batch, int64_t max_slots, const at::TensorOptions& options) const;

  // Every tensor under its Hugging Face name (adapters excluded), in a stable order.
  std::vector<std::pair<std::string, at::Tensor>> named_tensors() const;
  // Every projection, for attaching adapters by name suffix.
  std::vector<Linear*> linears();
  std::vector<const Linear*> linears() const;

 private:
  at::Tensor attention(const Block& b, const at::Tensor& x, const at::Tensor& positions, const AttentionMask& mask, KvCache* cache,
                       int64_t layer) const;
  at::Tensor mlp(const Block& b, const at::Tensor& x) const;

  ModelConfig config_;
  at::Tensor wte_, wpe_;  // (V, C), (max_positions, C) GPT-2 only
  std::vector<Block> blocks_;
  Norm final_norm_;
  at::Tensor lm_head_;    // (V, C); the same tensor as wte_ when tied
  at::Tensor score_;      // (num_labels, C)
  at::Tensor inv_freq_;   // (D / 2) rotary frequencies, Llama only
  bool checkpointing_ = false;
};

}  // namespace moalign::model
