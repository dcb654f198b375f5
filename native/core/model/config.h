// The shape of a decoder-only LM, as read from a Hugging Face config.json (the TypeScript side
// parses and validates the file; see ts/engine/config.ts). Torch-free.
#pragma once
#include <cstdint>
#include <string>

namespace moalign::model {

enum class Layout {
  Gpt2,   // learned positions, LayerNorm, GELU (tanh), Conv1D weights (in, out), tied LM head
  Llama,  // RMSNorm, rotary positions, SwiGLU, grouped-query attention; optional q/k/v bias (Qwen2)
};

struct ModelConfig {
  Layout layout = Layout::Gpt2;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // C
  int64_t num_layers = 0;         // L
  int64_t num_heads = 0;          // H
  int64_t num_kv_heads = 0;       // Hkv (= H for GPT-2)
  int64_t head_dim = 0;           // D (usually C / H)
  int64_t intermediate_size = 0;  // MLP width
  int64_t max_positions = 0;      // context length
  double norm_eps = 1e-5;
  double rope_theta = 10000;      // Llama only
  bool qkv_bias = false;          // Llama layout: q/k/v projections have biases (Qwen2)
  bool tie_embeddings = true;     // LM head = token embedding
  int64_t num_labels = 0;         // > 0: a sequence-classification head ("score") instead of the LM head
  double initializer_range = 0.02;  // std of freshly drawn weights (models trained from scratch)
  std::string prefix;             // tensor-name prefix of the body: "transformer." (GPT-2), "model." (Llama)
};

}  // namespace moalign::model
