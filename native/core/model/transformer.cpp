#include "core/model/transformer.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/layer_norm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/scaled_dot_product_attention.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/split.h>
#include <ATen/ops/zeros.h>

#include <cmath>

#include "core/errors.h"
#include "core/model/causal_attention.h"
#include "core/model/decode_kernels.h"
#include "core/model/gelu.h"
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

namespace moalign::model {

// ------------------------------------------------------------------ norms

at::Tensor Norm::forward(const at::Tensor& x) const {
  if (!rms) return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  // RMSNorm as Llama computes it: in float32, then back to the input dtype before the weight.
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

// ------------------------------------------------------------------ masks

at::Tensor AttentionMask::dense(int64_t T, int64_t S) const {
  const auto device = key_mask.defined() ? key_mask.device() : at::Device(at::kCPU);
  const at::Tensor q_slot = at::arange(start, start + T, at::TensorOptions().dtype(at::kLong).device(device)).unsqueeze(1);  // (T, 1)
  const at::Tensor k_slot = at::arange(S, at::TensorOptions().dtype(at::kLong).device(device)).unsqueeze(0);                 // (1, S)
  const at::Tensor causal = k_slot <= q_slot;                                                                                // (T, S)
  if (!key_mask.defined()) return causal.view({1, 1, T, S});
  // A padding query would see no key at all (NaN rows): it may always see itself.
  at::Tensor allowed = causal.unsqueeze(0) & key_mask.narrow(1, 0, S).unsqueeze(1);  // (B, T, S)
  allowed = allowed | (k_slot == q_slot).unsqueeze(0);
  return allowed.unsqueeze(1);  // (B, 1, T, S)
}

// ------------------------------------------------------------------ loading

namespace {

// Asks `w` for each tensor with the rule that would initialise it fresh (GPT-2's scheme, which
// nanoGPT follows: weights ~ N(0, range), and the projections that write into the residual
// stream ~ N(0, range / sqrt(2 L)) so the stream's variance does not grow with depth).
struct Loader {
  const WeightSource& w;
  at::ScalarType dtype;
  double std, residual_std;

  at::Tensor get(const std::string& name, std::vector<int64_t> shape, const InitRule& init) const { return w.tensor(name, dtype, shape, init); }
  at::Tensor embedding(const std::string& name, int64_t rows, int64_t C) const { return get(name, {rows, C}, InitRule::normal(std)); }
  Linear linear(const std::string& module, int64_t in, int64_t out, bool conv1d, bool bias, bool residual = false) const {
    Linear l;
    l.name = module;
    l.conv1d = conv1d;
    l.weight = get(module + ".weight", conv1d ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in}, InitRule::normal(residual ? residual_std : std));
    if (bias) l.bias = get(module + ".bias", {out}, InitRule::zeros());
    return l;
  }
  Norm layer_norm(const std::string& module, int64_t C, double eps) const {
    return Norm{get(module + ".weight", {C}, InitRule::ones()), get(module + ".bias", {C}, InitRule::zeros()), false, eps};
  }
  Norm rms_norm(const std::string& module, int64_t C, double eps) const { return Norm{get(module + ".weight", {C}, InitRule::ones()), {}, true, eps}; }
};

}  // namespace

Transformer::Transformer(const ModelConfig& config, const WeightSource& weights, at::ScalarType dtype) : config_(config) {
  const ModelConfig& c = config_;
  if (c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.vocab_size <= 0 || c.head_dim <= 0 || c.num_kv_heads <= 0 ||
      c.num_heads % c.num_kv_heads != 0)
    throw InvalidArgument("model config: sizes must be positive and num_heads a multiple of num_kv_heads");
  const Loader load{weights, dtype, c.initializer_range, c.initializer_range / std::sqrt(2.0 * static_cast<double>(c.num_layers))};
  const std::string& p = c.prefix;
  const int64_t C = c.hidden_size, HD = c.num_heads * c.head_dim, KD = c.num_kv_heads * c.head_dim, F = c.intermediate_size;
  if (c.layout == Layout::Gpt2) {
    wte_ = load.embedding(p + "wte.weight", c.vocab_size, C);
    wpe_ = load.embedding(p + "wpe.weight", c.max_positions, C);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string h = p + "h." + std::to_string(i) + ".";
      Block b;
      b.norm1 = load.layer_norm(h + "ln_1", C, c.norm_eps);
      b.c_attn = load.linear(h + "attn.c_attn", C, 3 * C, true, true);
      b.o = load.linear(h + "attn.c_proj", C, C, true, true, true);
      b.norm2 = load.layer_norm(h + "ln_2", C, c.norm_eps);
      b.fc = load.linear(h + "mlp.c_fc", C, F, true, true);
      b.mlp_proj = load.linear(h + "mlp.c_proj", F, C, true, true, true);
      blocks_.push_back(std::move(b));
    }
    final_norm_ = load.layer_norm(p + "ln_f", C, c.norm_eps);
  } else {
    wte_ = load.embedding(p + "embed_tokens.weight", c.vocab_size, C);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string l = p + "layers." + std::to_string(i) + ".";
      Block b;
      b.norm1 = load.rms_norm(l + "input_layernorm", C, c.norm_eps);
      b.q = load.linear(l + "self_attn.q_proj", C, HD, false, c.qkv_bias);
      b.k = load.linear(l + "self_attn.k_proj", C, KD, false, c.qkv_bias);
      b.v = load.linear(l + "self_attn.v_proj", C, KD, false, c.qkv_bias);
      b.o = load.linear(l + "self_attn.o_proj", HD, C, false, false, true);
      b.norm2 = load.rms_norm(l + "post_attention_layernorm", C, c.norm_eps);
      b.gate = load.linear(l + "mlp.gate_proj", C, F, false, false);
      b.up = load.linear(l + "mlp.up_proj", C, F, false, false);
      b.down = load.linear(l + "mlp.down_proj", F, C, false, false, true);
      blocks_.push_back(std::move(b));
    }
    final_norm_ = load.rms_norm(p + "norm", C, c.norm_eps);
    // HF's default rotary frequencies, in float32: 1 / theta^(2i / D)
    const at::Tensor exponent = at::arange(0, c.head_dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(c.head_dim);
    inv_freq_ = 1.0 / at::pow(c.rope_theta, exponent);
  }
  if (c.num_labels > 0) {
    score_ = load.embedding("score.weight", c.num_labels, C);
  } else {
    lm_head_ = c.tie_embeddings ? wte_ : load.embedding("lm_head.weight", c.vocab_size, C);
  }
}

// ------------------------------------------------------------------ forward

namespace {

// Rotary position embedding, HF's rotate-half form. x (B, h, T, D); cos, sin (B, 1, T, D).
at::Tensor rotate(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

// (B, Hkv, S, D) -> (B, H, S, D): each key/value head serves H / Hkv query heads.
at::Tensor repeat_kv(const at::Tensor& x, int64_t groups) {
  if (groups == 1) return x;
  const auto B = x.size(0), Hkv = x.size(1), S = x.size(2), D = x.size(3);
  return x.unsqueeze(2).expand({B, Hkv, groups, S, D}).reshape({B, Hkv * groups, S, D});
}

}  // namespace

at::Tensor Transformer::attention(const Block& b, const at::Tensor& x, const at::Tensor& positions, const AttentionMask& mask,
                                  KvCache* cache, int64_t layer) const {
  const ModelConfig& c = config_;
  const int64_t B = x.size(0), T = x.size(1), H = c.num_heads, Hkv = c.num_kv_heads, D = c.head_dim;
  at::Tensor q, k, v;  // (B, h, T, D)
  if (c.layout == Layout::Gpt2) {
    const at::Tensor qkv = b.c_attn.forward(x);  // (B, T, 3C)
    // A whole unpadded sequence (training, scoring): our kernel reads q, k, v in place.
    if (!cache && !mask.key_mask.defined() && mask.start == 0)
      if (const at::Tensor y = causal_attention(qkv, H); y.defined()) return b.o.forward(y);
    // split, not three narrows: its backward writes the three gradients into one (B, T, 3C)
    // tensor (a cat), where each narrow's would zero-fill a (B, T, 3C) tensor of its own.
    const std::vector<at::Tensor> parts = qkv.split(c.hidden_size, -1);  // 3 x (B, T, C)
    q = parts[0].view({B, T, H, D}).transpose(1, 2);
    k = parts[1].view({B, T, H, D}).transpose(1, 2);
    v = parts[2].view({B, T, H, D}).transpose(1, 2);
  } else {
    q = b.q.forward(x).view({B, T, H, D}).transpose(1, 2);
    k = b.k.forward(x).view({B, T, Hkv, D}).transpose(1, 2);
    v = b.v.forward(x).view({B, T, Hkv, D}).transpose(1, 2);
    const at::Tensor freqs = positions.unsqueeze(-1).to(at::kFloat) * inv_freq_.to(positions.device());  // (B, T, D/2)
    const at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);                                    // (B, 1, T, D)
    const at::Tensor cos = angles.cos().to(q.scalar_type()), sin = angles.sin().to(q.scalar_type());
    q = rotate(q, cos, sin);
    k = rotate(k, cos, sin);
  }
  int64_t S = T;
  if (cache) {
    const int64_t start = cache->length;
    S = start + T;
    cache->k[layer].narrow(2, start, T).copy_(k);
    cache->v[layer].narrow(2, start, T).copy_(v);
    k = cache->k[layer].narrow(2, 0, S);
    v = cache->v[layer].narrow(2, 0, S);
  }
  at::Tensor y;  // (B, H, T, D)
  if (cache && T == 1) y = decode_attention(q, k, v, mask.key_mask);  // undefined where it does not apply
  if (!y.defined()) {
    k = repeat_kv(k, H / Hkv);
    v = repeat_kv(v, H / Hkv);
    if (!mask.key_mask.defined() && mask.start == 0 && S == T) {
      y = at::scaled_dot_product_attention(q, k, v, std::nullopt, 0.0, /*is_causal=*/true);
    } else {
      y = at::scaled_dot_product_attention(q, k, v, mask.dense(T, S).to(q.device()), 0.0, false);
    }
  }
  return b.o.forward(y.transpose(1, 2).reshape({B, T, H * D}));
}

at::Tensor Transformer::mlp(const Block& b, const at::Tensor& x) const {
  if (config_.layout == Layout::Gpt2) return b.mlp_proj.forward(gelu_tanh(b.fc.forward(x)));
  return b.down.forward(at::silu(b.gate.forward(x)) * b.up.forward(x));
}

at::Tensor Transformer::block(int64_t layer, const at::Tensor& x, const at::Tensor& positions, const AttentionMask& mask, KvCache* cache) const {
  const Block& b = blocks_[static_cast<std::size_t>(layer)];
  const at::Tensor h = x + attention(b, b.norm1.forward(x), positions, mask, cache, layer);
  return h + mlp(b, b.norm2.forward(h));
}

namespace {

// One block run without keeping its activations: forward under no-grad saves the input only;
// backward recomputes the block with gradients on and back-propagates through it (reentrant),
// which accumulates the block's weight gradients and returns the input's.
AttentionMask mask_of(const at::Tensor& key_mask, int64_t start) { return AttentionMask{key_mask.numel() > 0 ? key_mask : at::Tensor(), start}; }

struct CheckpointedBlock : public torch::autograd::Function<CheckpointedBlock> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t self, int64_t layer, const at::Tensor& positions,
                            const at::Tensor& key_mask, int64_t start) {
    ctx->save_for_backward({x, positions, key_mask});
    ctx->saved_data["self"] = self;
    ctx->saved_data["layer"] = layer;
    ctx->saved_data["start"] = start;
    return reinterpret_cast<const Transformer*>(self)->block(layer, x, positions, mask_of(key_mask, start), nullptr);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const auto* self = reinterpret_cast<const Transformer*>(ctx->saved_data["self"].toInt());
    const at::Tensor x = saved[0].detach().requires_grad_(true);
    at::Tensor y;
    {
      at::AutoGradMode grad_on(true);
      y = self->block(ctx->saved_data["layer"].toInt(), x, saved[1], mask_of(saved[2], ctx->saved_data["start"].toInt()), nullptr);
    }
    torch::autograd::backward({y}, {grad_out[0]});
    return {x.grad(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor Transformer::hidden(const at::Tensor& ids, const at::Tensor& positions, const AttentionMask& mask, KvCache* cache) const {
  at::Tensor x = at::embedding(wte_, ids);  // (B, T, C)
  if (config_.layout == Layout::Gpt2) x = x + at::embedding(wpe_, positions);
  const bool recompute = checkpointing_ && !cache && at::GradMode::is_enabled();
  // autograd functions take defined tensors only: "no padding" travels as an empty mask
  const bool no_padding = !mask.key_mask.defined();
  const at::Tensor empty_mask = no_padding && recompute ? at::empty({0}, ids.options().dtype(at::kBool)) : at::Tensor();
  // With frozen embeddings (LoRA) the blocks' input needs no gradient, and an autograd function
  // whose inputs need none is skipped in backward, adapters and all: make it a leaf that asks.
  if (recompute && !x.requires_grad()) x = x.detach().requires_grad_(true);
  for (std::size_t l = 0; l < blocks_.size(); ++l) {
    const auto layer = static_cast<int64_t>(l);
    x = recompute ? CheckpointedBlock::apply(x, reinterpret_cast<int64_t>(this), layer, positions, no_padding ? empty_mask : mask.key_mask, mask.start)
                  : block(layer, x, positions, mask, cache);
  }
  if (cache) cache->length += ids.size(1);
  return final_norm_.forward(x);
}

at::Tensor Transformer::lm_logits(const at::Tensor& h) const {
  if (!lm_head_.defined()) throw InvalidArgument("this model has a classification head, not a language-model head");
  const int64_t rows = h.numel() / h.size(-1);
  if (rows <= 32) {
    // Decoding: a few rows against a large vocabulary. W h^T runs 2x faster in MKL's sgemm than
    // h W^T for this shape (measured: 4.6 vs 10.8 ms for 8 x 256 against 50,257 x 256, 2 threads).
    auto shape = h.sizes().vec();
    shape.back() = lm_head_.size(0);
    return at::matmul(lm_head_, h.reshape({rows, h.size(-1)}).t()).t().reshape(shape);
  }
  return at::linear(h, lm_head_);
}

at::Tensor Transformer::scores(const at::Tensor& h) const {
  if (!score_.defined()) throw InvalidArgument("this model has no classification head (score.weight)");
  return at::linear(h, score_);
}

void Transformer::to(const at::Device& device) {
  if (wte_.device() == device) return;
  const bool tied = lm_head_.defined() && lm_head_.is_same(wte_);
  auto move = [&](at::Tensor& t) {
    if (t.defined()) t = t.to(device);
  };
  move(wte_);
  move(wpe_);
  move(score_);
  move(inv_freq_);
  lm_head_ = tied ? wte_ : lm_head_.defined() ? lm_head_.to(device) : lm_head_;
  move(final_norm_.weight);
  move(final_norm_.bias);
  for (Block& b : blocks_) {
    for (Norm* n : {&b.norm1, &b.norm2}) {
      move(n->weight);
      move(n->bias);
    }
    for (Linear* l : {&b.c_attn, &b.q, &b.k, &b.v, &b.o, &b.fc, &b.mlp_proj, &b.gate, &b.up, &b.down}) {
      move(l->weight);
      move(l->bias);
    }
  }
}

KvCache Transformer::new_cache(int64_t batch, int64_t max_slots, const at::TensorOptions& options) const {
  KvCache cache;
  for (std::size_t l = 0; l < blocks_.size(); ++l) {
    cache.k.push_back(at::zeros({batch, config_.num_kv_heads, max_slots, config_.head_dim}, options));
    cache.v.push_back(at::zeros({batch, config_.num_kv_heads, max_slots, config_.head_dim}, options));
  }
  return cache;
}

// ------------------------------------------------------------------ introspection

std::vector<std::pair<std::string, at::Tensor>> Transformer::named_tensors() const {
  const ModelConfig& c = config_;
  std::vector<std::pair<std::string, at::Tensor>> out;
  auto add_linear = [&](const Linear& l) {
    if (!l.weight.defined()) return;
    out.emplace_back(l.name + ".weight", l.weight);
    if (l.bias.defined()) out.emplace_back(l.name + ".bias", l.bias);
  };
  auto add_norm = [&](const std::string& name, const Norm& n) {
    out.emplace_back(name + ".weight", n.weight);
    if (n.bias.defined()) out.emplace_back(name + ".bias", n.bias);
  };
  const std::string& p = c.prefix;
  if (c.layout == Layout::Gpt2) {
    out.emplace_back(p + "wte.weight", wte_);
    out.emplace_back(p + "wpe.weight", wpe_);
  } else {
    out.emplace_back(p + "embed_tokens.weight", wte_);
  }
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const Block& b = blocks_[i];
    const std::string h = c.layout == Layout::Gpt2 ? p + "h." + std::to_string(i) + "." : p + "layers." + std::to_string(i) + ".";
    add_norm(h + (c.layout == Layout::Gpt2 ? "ln_1" : "input_layernorm"), b.norm1);
    for (const Linear* l : {&b.c_attn, &b.q, &b.k, &b.v, &b.o}) add_linear(*l);
    add_norm(h + (c.layout == Layout::Gpt2 ? "ln_2" : "post_attention_layernorm"), b.norm2);
    for (const Linear* l : {&b.fc, &b.mlp_proj, &b.gate, &b.up, &b.down}) add_linear(*l);
  }
  add_norm(p + (c.layout == Layout::Gpt2 ? "ln_f" : "norm"), final_norm_);
  if (score_.defined()) out.emplace_back("score.weight", score_);
  if (lm_head_.defined() && !c.tie_embeddings) out.emplace_back("lm_head.weight", lm_head_);
  return out;
}

std::vector<Linear*> Transformer::linears() {
  std::vector<Linear*> out;
  for (Block& b : blocks_)
    for (Linear* l : {&b.c_attn, &b.q, &b.k, &b.v, &b.o, &b.fc, &b.mlp_proj, &b.gate, &b.up, &b.down})
      if (l->weight.defined()) out.push_back(l);
  return out;
}

std::vector<const Linear*> Transformer::linears() const {
  std::vector<const Linear*> out;
  for (Linear* l : const_cast<Transformer*>(this)->linears()) out.push_back(l);
  return out;
}

}  // namespace moalign::model
