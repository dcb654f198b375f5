#include "core/model/causal_lm.h"

#include <ATen/TensorOperators.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/full.h>
#include <ATen/ops/log_sigmoid.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/sort.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/zeros.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include "core/adapters/lora.h"
#include "core/adapters/svd_lora.h"
#include "core/aten_bridge.h"
#include "core/device_time.h"
#include "core/errors.h"
#include "core/simplex.h"
#include "core/model/json_lite.h"
#include "core/model/safetensors.h"
#include "core/model/transformer.h"
#include "core/train/linear_cross_entropy.h"

namespace moalign::model {

namespace {

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  throw InvalidArgument("dtype must be float32, bfloat16 or float16, not " + name);
}

// "…self_attn.q_proj" ends with "q_proj" at a name boundary.
bool ends_with_module(const std::string& name, const std::string& suffix) {
  if (suffix.size() > name.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  return name.size() == suffix.size() || name[name.size() - suffix.size() - 1] == '.';
}

const std::string kPeftPrefix = "base_model.model.";

std::string layout_name(Layout layout) { return layout == Layout::Gpt2 ? "gpt2" : "llama"; }

// λ (m), (1, m) or (R, m) -> (R, m) float64 on the CPU, every row checked to lie on the simplex
// within 1e-6: finite, non-negative, summing to 1 (panacea.md §7; never renormalised, pitfall 12).
at::Tensor simplex_rows(const at::Tensor& lambda, int64_t m) {
  if (!lambda.defined() || !lambda.is_floating_point()) throw InvalidArgument("a preference must be a floating-point tensor");
  const at::Tensor rows = (lambda.dim() == 1 ? lambda.view({1, -1}) : lambda).detach().to(at::kCPU, at::kDouble).contiguous();
  if (rows.dim() != 2 || rows.size(0) < 1) throw InvalidArgument("a preference must be (m) or (rows, m), got " + std::to_string(lambda.dim()) + " dimensions");
  if (rows.size(1) != m)
    throw InvalidArgument("a preference needs m = " + std::to_string(m) + " values (one per objective), got " + std::to_string(rows.size(1)));
  const double* p = rows.data_ptr<double>();
  for (int64_t b = 0; b < rows.size(0); ++b)
    if (const std::string problem = simplex_problem(p + b * m, m); !problem.empty()) throw InvalidArgument("preference row " + std::to_string(b) + problem);
  return rows;
}

bool rows_equal(const at::Tensor& rows) { return rows.size(0) == 1 || rows.eq(rows.narrow(0, 0, 1)).all().item<bool>(); }

}  // namespace

struct CausalLM::Impl {
  Transformer body;
  at::Device device;
  at::ScalarType dtype;
  struct Attached {
    Linear* linear;
    std::shared_ptr<adapters::Adapter> adapter;
  };
  std::vector<Attached> adapters;

  // Every adapter tensor under its peft name, base_model.model.<module>.<tensor>: what
  // parameter_names lists, parameter finds, and the adapter files hold.
  std::vector<std::pair<std::string, at::Tensor>> adapter_tensors() const {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& a : adapters)
      for (const auto& [n, t] : a.adapter->parameters()) out.emplace_back(kPeftPrefix + a.linear->name + "." + n, t);
    return out;
  }
  // Panacea's SVD-LoRA, when attached: the same adapters as above, typed, and their options.
  struct Svd {
    std::vector<std::shared_ptr<adapters::SvdLora>> layers;
    SvdLoraOptions options;
    std::shared_ptr<adapters::DropoutStream> dropout;  // shared by the layers; p = options.dropout
  } svd;

  // Attaches made SVD-LoRA layers with their options (add_svd_lora and load_svd_lora).
  void attach_svd(const std::vector<std::pair<Linear*, std::shared_ptr<adapters::SvdLora>>>& made, const SvdLoraOptions& o,
                  std::shared_ptr<adapters::DropoutStream> dropout) {
    svd.options = o;
    svd.dropout = std::move(dropout);
    for (auto& [l, layer] : made) {
      l->adapter = layer;
      adapters.push_back({l, layer});
      svd.layers.push_back(layer);
    }
  }

  bool any_merged() const {
    for (const auto& a : adapters)
      if (a.linear->merged) return true;
    return false;
  }
  void unmerge_all() {
    for (auto& a : adapters) a.linear->unmerge();
  }
  // All or nothing: a module that cannot merge (no single preference) leaves every weight as it was.
  void merge_all() {
    try {
      for (auto& a : adapters) a.linear->merge();
    } catch (...) {
      unmerge_all();
      throw;
    }
  }
  // The preference of every SVD-LoRA layer (the layers all hold the same one): (R, m) or undefined.
  at::Tensor preference() const { return svd.layers.empty() ? at::Tensor() : svd.layers.front()->preference(); }
  // Writes checked rows (R, m) (or undefined: none) into every layer. Merged weights follow a new
  // single preference (restored exactly, then merged again); per-row preferences need unmerged ones.
  void set_preference(const at::Tensor& rows) {
    const bool merged = any_merged();
    if (merged && rows.defined() && !rows_equal(rows))
      throw InvalidArgument("the adapters are merged for one preference; unmerge them before setting one preference per row");
    if (merged) unmerge_all();
    for (auto& l : svd.layers) rows.defined() ? l->set_preference(rows) : l->clear_preference();
    if (merged && rows.defined()) merge_all();
  }

  // Positions count real tokens only, so left- and right-padded rows see the same positions as
  // unpadded ones. key_mask (B, T) bool -> (B, T) int64.
  static at::Tensor positions_of(const at::Tensor& key_mask) { return (at::cumsum(key_mask.to(at::kLong), 1) - 1).clamp_min(0); }

  // ids (B, T) int64, key mask (B, T) bool and positions, on the device.
  struct Inputs {
    at::Tensor ids, key_mask, positions;
    bool padded;
  };
  Inputs inputs(const Batch& batch) const {
    const at::Tensor& ids = aten(batch.ids);
    if (ids.dim() != 2) throw InvalidArgument("ids must be (batch, tokens), got " + std::to_string(ids.dim()) + " dimensions");
    Inputs in;
    in.ids = ids.to(at::kLong).to(device);
    if (batch.attention_mask.defined()) {
      const at::Tensor& m = aten(batch.attention_mask);
      if (m.sizes() != ids.sizes()) throw InvalidArgument("attention_mask must have the shape of ids");
      in.key_mask = m.to(device).ne(0);
    } else {
      in.key_mask = at::full(ids.sizes(), true, at::TensorOptions().dtype(at::kBool).device(device));
    }
    const int64_t vocab = body.config().vocab_size;
    if (in.ids.numel() > 0 && (in.ids.min().item<int64_t>() < 0 || in.ids.max().item<int64_t>() >= vocab))
      throw InvalidArgument("token ids must lie in [0, " + std::to_string(vocab) + ")");
    if (ids.size(1) > body.config().max_positions)
      throw InvalidArgument(std::to_string(ids.size(1)) + " tokens exceed the model's context of " + std::to_string(body.config().max_positions));
    in.positions = positions_of(in.key_mask);
    in.padded = !in.key_mask.all().item<bool>();
    return in;
  }

  at::Tensor hidden(const Inputs& in) const {
    AttentionMask mask;
    if (in.padded) mask.key_mask = in.key_mask;
    return body.hidden(in.ids, in.positions, mask, nullptr);
  }

  // Labels (B, T) int64 on the device, checked against the ids.
  at::Tensor labels_for(const Inputs& in, const at::Tensor& labels_in) const {
    at::Tensor labels = labels_in.to(at::kLong).to(device);
    if (labels.sizes() != in.ids.sizes()) throw InvalidArgument("labels must have the shape of ids");
    return labels;
  }

  // (B, T-1) log p(labels[t+1] | ids[..t]) and the valid mask, float32.
  std::pair<at::Tensor, at::Tensor> token_log_probs(const Inputs& in, const at::Tensor& labels_in) const {
    const at::Tensor labels = labels_for(in, labels_in);
    const int64_t T = labels.size(1);
    const at::Tensor logits = body.lm_logits(hidden(in).narrow(1, 0, T - 1)).to(at::kFloat);  // (B, T-1, V): no head on the last slot
    const at::Tensor target = labels.narrow(1, 1, T - 1);
    const at::Tensor valid = target.ne(-100);
    const at::Tensor lp = at::log_softmax(logits, -1).gather(-1, target.clamp_min(0).unsqueeze(-1)).squeeze(-1);
    return {lp * valid, valid};
  }
};

CausalLM::CausalLM(const std::string& dir, const ModelConfig& config, const LoadOptions& options) {
  const at::ScalarType dtype = parse_dtype(options.dtype);
  const at::Device device(options.device);
  if (device.type() != at::kCPU && device.type() != at::kCUDA) throw InvalidArgument("device must be cpu or cuda[:i], not " + options.device);
  if (options.init_seed) {
    impl_ = std::make_unique<Impl>(Impl{Transformer(config, FreshWeights(*options.init_seed), dtype), device, dtype, {}, {}});
  } else {
    const SafetensorsCheckpoint checkpoint(dir);
    impl_ = std::make_unique<Impl>(Impl{Transformer(config, CheckpointWeights(checkpoint), dtype), device, dtype, {}, {}});
  }
  impl_->body.to(device);
}

CausalLM::~CausalLM() = default;
CausalLM::CausalLM(CausalLM&&) noexcept = default;
CausalLM& CausalLM::operator=(CausalLM&&) noexcept = default;

const ModelConfig& CausalLM::config() const { return impl_->body.config(); }

Tensor CausalLM::logits(const Batch& batch) const {
  at::NoGradGuard no_grad;
  const DeviceTimeScope device_time(impl_->device);
  const auto in = impl_->inputs(batch);
  return wrap(impl_->body.lm_logits(impl_->hidden(in)).to(at::kFloat).cpu());
}

Tensor CausalLM::scores(const Batch& batch) const {
  at::NoGradGuard no_grad;
  const DeviceTimeScope device_time(impl_->device);
  const auto in = impl_->inputs(batch);
  const at::Tensor s = impl_->body.scores(impl_->hidden(in));  // (B, T, L)
  // The last real token of each row (right padding) or the last slot (left padding).
  const int64_t T = in.ids.size(1);
  const at::Tensor slot = at::arange(T, at::TensorOptions().dtype(at::kLong).device(impl_->device));
  const at::Tensor last = (slot.unsqueeze(0) * in.key_mask.to(at::kLong)).argmax(1);  // (B)
  const at::Tensor picked = s.gather(1, last.view({-1, 1, 1}).expand({s.size(0), 1, s.size(2)})).squeeze(1);
  return wrap(picked.to(at::kFloat).cpu());
}

namespace {
// Merged adapters are folded into frozen weights: their parameters would get no gradient.
void refuse_training_merged(const CausalLM::Impl& impl) {
  if (impl.any_merged()) throw InvalidArgument("the adapters are merged into the weights; unmerge them before training");
}
}  // namespace

double CausalLM::loss(const Batch& batch, const Tensor& labels_t, bool backward, double backward_scale) {
  if (backward) refuse_training_merged(*impl_);
  const auto in = impl_->inputs(batch);
  const at::Tensor labels = impl_->labels_for(in, aten(labels_t));
  const int64_t T = labels.size(1);
  const at::Tensor target = labels.narrow(1, 1, T - 1).reshape({-1});
  if (!target.ne(-100).any().item<bool>()) throw InvalidArgument("no label positions: every label is -100");
  // The head runs on the T-1 positions that predict a label, fused with the loss so that no
  // (B, T, V) logits tensor is made or kept for backward (train/linear_cross_entropy.h).
  const at::Tensor& head = impl_->body.lm_head();
  if (!head.defined()) throw InvalidArgument("this model has a classification head, not a language-model head");
  const at::Tensor h = impl_->hidden(in).narrow(1, 0, T - 1).reshape({-1, config().hidden_size});
  const at::Tensor loss = train::linear_cross_entropy(h, head, target, -100);
  if (backward) (backward_scale == 1.0 ? loss : loss * backward_scale).backward();
  return loss.item<double>();
}

Tensor CausalLM::block(int64_t layer, const Tensor& x_t) const {
  const ModelConfig& c = config();
  if (layer < 0 || layer >= c.num_layers) throw InvalidArgument("block " + std::to_string(layer) + " of a model with " + std::to_string(c.num_layers) + " layers");
  const at::Tensor& x = aten(x_t);
  if (x.dim() != 3 || x.size(2) != c.hidden_size)
    throw InvalidArgument("a block takes hidden states (B, T, " + std::to_string(c.hidden_size) + ")");
  // Positions only feed Llama's rotary embedding; GPT-2's are added with the embeddings, outside.
  const at::Tensor positions = at::arange(x.size(1), at::TensorOptions().dtype(at::kLong).device(x.device())).unsqueeze(0).expand({x.size(0), x.size(1)});
  return wrap(impl_->body.block(layer, x, positions, AttentionMask{}, nullptr));
}

SequenceLogProbs CausalLM::log_probs(const Batch& batch, const Tensor& labels) const {
  at::NoGradGuard no_grad;
  const DeviceTimeScope device_time(impl_->device);
  const auto in = impl_->inputs(batch);
  const auto [lp, valid] = impl_->token_log_probs(in, aten(labels));
  const at::Tensor sum = lp.sum(1).to(at::kDouble).cpu(), count = valid.sum(1).cpu();
  SequenceLogProbs out;
  for (int64_t b = 0; b < sum.size(0); ++b) {
    const double s = sum[b].item<double>();
    const int64_t n = count[b].item<int64_t>();
    out.sum.push_back(s);
    out.tokens.push_back(n);
    out.mean.push_back(n > 0 ? s / static_cast<double>(n) : 0.0);
  }
  return out;
}

Tensor CausalLM::summed_log_probs(const Batch& batch, const Tensor& labels) const {
  const auto in = impl_->inputs(batch);
  return wrap(impl_->token_log_probs(in, aten(labels)).first.sum(1));
}

DpoResult CausalLM::dpo_loss(const Batch& chosen, const Tensor& chosen_labels, const Batch& rejected, const Tensor& rejected_labels, double beta,
                             bool backward) {
  if (!has_adapters()) throw InvalidArgument("DPO needs adapters: the reference model is this model with its adapters switched off");
  if (!(beta > 0)) throw InvalidArgument("DPO beta must be > 0");
  if (backward) refuse_training_merged(*impl_);
  const auto c_in = impl_->inputs(chosen), r_in = impl_->inputs(rejected);
  if (c_in.ids.size(0) != r_in.ids.size(0)) throw InvalidArgument("chosen and rejected must hold the same number of rows");
  auto summed = [&](const Impl::Inputs& in, const Tensor& labels) { return impl_->token_log_probs(in, aten(labels)).first.sum(1); };  // (B)
  at::Tensor ref_c, ref_r;
  {
    at::NoGradGuard no_grad;
    set_adapters_enabled(false);
    try {
      ref_c = summed(c_in, chosen_labels);
      ref_r = summed(r_in, rejected_labels);
    } catch (...) {
      set_adapters_enabled(true);
      throw;
    }
    set_adapters_enabled(true);
  }
  const at::Tensor pol_c = summed(c_in, chosen_labels), pol_r = summed(r_in, rejected_labels);
  const at::Tensor chosen_reward = beta * (pol_c - ref_c), rejected_reward = beta * (pol_r - ref_r);
  const at::Tensor loss = -at::log_sigmoid(chosen_reward - rejected_reward).mean();
  if (backward) loss.backward();
  DpoResult out{loss.item<double>(), {}, {}};
  const at::Tensor c = chosen_reward.detach().to(at::kDouble).cpu(), r = rejected_reward.detach().to(at::kDouble).cpu();
  for (int64_t i = 0; i < c.size(0); ++i) {
    out.chosen_rewards.push_back(c[i].item<double>());
    out.rejected_rewards.push_back(r[i].item<double>());
  }
  return out;
}

namespace {

// The SVD-LoRA preference of one generate call. `rows` (B, m) checked, or undefined for the
// model's own. One preference for every row: the adapters are merged (the base model's speed)
// and restored exactly on exit; otherwise they run unmerged with one λ per row. On exit, errors
// included, the model's previous preference and merge state come back.
class PreferenceScope {
 public:
  PreferenceScope(CausalLM::Impl& impl, const at::Tensor& rows, int64_t batch) : impl_(impl) {
    if (impl.svd.layers.empty()) return;
    const at::Tensor current = impl.preference();
    const at::Tensor use = rows.defined() ? rows : current;
    if (!use.defined()) throw InvalidArgument("this model has SVD-LoRA adapters but no preference: set one, or pass one per prompt");
    const bool single = rows_equal(use);
    if (!single && use.size(0) != batch)
      throw InvalidArgument("the model's preference has " + std::to_string(use.size(0)) + " rows for " + std::to_string(batch) + " prompts");
    was_merged_ = impl.any_merged();
    if (!single && was_merged_) throw InvalidArgument("the adapters are merged for one preference; unmerge them to generate with one preference per row");
    if (rows.defined()) {
      previous_ = current;
      restore_ = true;
      impl.set_preference(single ? rows.narrow(0, 0, 1) : rows);  // re-merges when merged
    }
    if (single && !impl.any_merged()) {
      impl.merge_all();
      merged_here_ = true;
    }
  }
  ~PreferenceScope() {
    try {
      if (merged_here_) impl_.unmerge_all();
      if (restore_) impl_.set_preference(previous_);
    } catch (...) {
      // unmerge copies tensors back and set_preference re-merges what was merged: neither fails
      // for a preference that worked before
    }
  }
  PreferenceScope(const PreferenceScope&) = delete;
  PreferenceScope& operator=(const PreferenceScope&) = delete;

 private:
  CausalLM::Impl& impl_;
  at::Tensor previous_;
  bool restore_ = false, was_merged_ = false, merged_here_ = false;
};

// GenerateOptions::preferences as checked rows (B, m), or undefined when empty.
at::Tensor generation_preferences(const std::vector<std::vector<double>>& preferences, int64_t batch, int64_t m) {
  if (preferences.empty()) return {};
  if (m == 0) throw InvalidArgument("preferences were given, but this model has no SVD-LoRA adapters");
  if (static_cast<int64_t>(preferences.size()) != batch)
    throw InvalidArgument("preferences: one row per prompt is needed, got " + std::to_string(preferences.size()) + " rows for " + std::to_string(batch) +
                          " prompts");
  std::vector<double> flat;
  for (std::size_t i = 0; i < preferences.size(); ++i) {
    if (static_cast<int64_t>(preferences[i].size()) != m)
      throw InvalidArgument("preference row " + std::to_string(i) + " has " + std::to_string(preferences[i].size()) + " values; the model has m = " +
                            std::to_string(m) + " objectives");
    flat.insert(flat.end(), preferences[i].begin(), preferences[i].end());
  }
  return simplex_rows(at::tensor(flat, at::TensorOptions().dtype(at::kDouble)).view({batch, m}), m);
}

}  // namespace

GenerateResult CausalLM::generate(const std::vector<std::vector<int64_t>>& prompts, const GenerateOptions& o, const CancelToken* cancel,
                                  const StepProgress& progress) const {
  at::NoGradGuard no_grad;
  const DeviceTimeScope device_time(impl_->device);
  const auto start_time = std::chrono::steady_clock::now();
  const ModelConfig& c = config();
  const int64_t B = static_cast<int64_t>(prompts.size());
  if (B == 0) return {};
  if (o.max_new_tokens < 0) throw InvalidArgument("max_new_tokens must be >= 0");
  if (!o.greedy && !(o.temperature > 0)) throw InvalidArgument("temperature must be > 0 when sampling");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw InvalidArgument("top_p must lie in (0, 1]");
  at::Tensor bias;  // (V) or undefined
  if (!o.logit_bias.empty()) {
    bias = at::zeros({c.vocab_size}, at::TensorOptions().dtype(at::kFloat));
    auto* b = bias.data_ptr<float>();
    for (const auto& [id, value] : o.logit_bias) {
      if (id < 0 || id >= c.vocab_size) throw InvalidArgument("logit bias: token id " + std::to_string(id) + " outside the vocabulary");
      if (!std::isfinite(value)) throw InvalidArgument("logit bias of token " + std::to_string(id) + " is not finite");
      b[id] += static_cast<float>(value);
    }
  }
  int64_t P = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) throw InvalidArgument("prompt " + std::to_string(i) + " is empty");
    for (int64_t t : prompts[i])
      if (t < 0 || t >= c.vocab_size) throw InvalidArgument("prompt " + std::to_string(i) + ": token id " + std::to_string(t) + " outside the vocabulary");
    P = std::max<int64_t>(P, static_cast<int64_t>(prompts[i].size()));
  }
  if (P + o.max_new_tokens > c.max_positions)
    throw InvalidArgument("the longest prompt (" + std::to_string(P) + " tokens) plus max_new_tokens (" + std::to_string(o.max_new_tokens) +
                          ") exceeds the model's context of " + std::to_string(c.max_positions));
  // KV cache and λ rows stay aligned: rows are never reordered or dropped during this call.
  const PreferenceScope preference(*impl_, generation_preferences(o.preferences, B, preference_dim()), B);
  // After the scope, so that merging and restoring the adapters stay ordinary no-grad work. Inside,
  // every op skips autograd's dispatch layers and version counters: the tensors made here are
  // never seen outside this call.
  const c10::InferenceMode inference;
  const at::Device device = impl_->device;
  const auto long_opts = at::TensorOptions().dtype(at::kLong);
  // Left padding: every prompt ends at slot P - 1, so new tokens share slot indices.
  at::Tensor ids = at::full({B, P}, o.pad_id, long_opts), key_mask = at::zeros({B, P + o.max_new_tokens}, at::TensorOptions().dtype(at::kBool));
  std::vector<int64_t> next_position(B);
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[b];
    const int64_t n = static_cast<int64_t>(p.size());
    ids[b].narrow(0, P - n, n).copy_(at::tensor(p, long_opts));
    key_mask[b].narrow(0, P - n, n).fill_(true);
    next_position[b] = n;
  }
  key_mask = key_mask.to(device);
  const at::Tensor prompt_mask = key_mask.narrow(1, 0, P);
  at::Tensor positions = Impl::positions_of(prompt_mask);
  KvCache cache = impl_->body.new_cache(B, P + o.max_new_tokens, at::TensorOptions().dtype(impl_->dtype).device(device));
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const std::set<int64_t> eos(o.eos_ids.begin(), o.eos_ids.end());

  GenerateResult result;
  result.tokens.assign(B, {});
  result.stopped_at_eos.assign(B, false);
  at::Tensor step_ids = ids.to(device);
  int64_t live = B;
  for (int64_t step = 0; step < o.max_new_tokens && live > 0; ++step) {
    if (cancel) cancel->throw_if_cancelled();
    AttentionMask mask{key_mask, cache.length};
    const at::Tensor h = impl_->body.hidden(step_ids, positions.to(device), mask, &cache);
    at::Tensor logits = impl_->body.lm_logits(h.narrow(1, h.size(1) - 1, 1)).squeeze(1).to(at::kFloat).cpu();  // (B, V)
    if (bias.defined()) logits = logits + bias;
    at::Tensor next;
    if (o.greedy) {
      next = logits.argmax(-1);
    } else {
      logits = logits / o.temperature;
      if (o.top_k > 0 && o.top_k < logits.size(-1)) {
        const at::Tensor kth = std::get<0>(at::topk(logits, o.top_k, -1)).narrow(-1, o.top_k - 1, 1);
        logits = logits.masked_fill(logits < kth, -INFINITY);
      }
      if (o.top_p < 1) {
        auto [sorted, order] = at::sort(logits, -1, /*descending=*/true);
        const at::Tensor probs = at::softmax(sorted, -1);
        const at::Tensor before = probs.cumsum(-1) - probs;  // mass of the better tokens
        sorted = sorted.masked_fill(before > o.top_p, -INFINITY);
        logits = logits.scatter(-1, order, sorted);
      }
      next = at::multinomial(at::softmax(logits, -1), 1, false, generator).squeeze(-1);
    }
    const auto* chosen = next.data_ptr<int64_t>();
    std::vector<int64_t> feed(B, o.pad_id);
    for (int64_t b = 0; b < B; ++b) {
      if (result.stopped_at_eos[b]) continue;
      if (eos.count(chosen[b])) {
        result.stopped_at_eos[b] = true;
        --live;
        continue;
      }
      result.tokens[b].push_back(chosen[b]);
      ++result.generated;
      feed[b] = chosen[b];
    }
    const int64_t slot = P + step;
    key_mask.narrow(1, slot, 1).fill_(true);
    step_ids = at::tensor(feed, long_opts).view({B, 1}).to(device);
    positions = at::tensor(next_position, long_opts).view({B, 1});
    for (auto& p : next_position) ++p;
    if (progress) progress(static_cast<double>(step + 1), static_cast<double>(o.max_new_tokens));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  return result;
}

std::vector<std::string> CausalLM::parameter_names(bool trainable_only) const {
  std::vector<std::string> out;
  for (const auto& [name, t] : impl_->body.named_tensors())
    if (!trainable_only || t.requires_grad()) out.push_back(name);
  for (const auto& [name, t] : impl_->adapter_tensors())
    if (!trainable_only || t.requires_grad()) out.push_back(name);
  return out;
}

Tensor CausalLM::parameter(const std::string& name) const {
  for (const auto& [n, t] : impl_->body.named_tensors())
    if (n == name) return wrap(t);
  for (const auto& [n, t] : impl_->adapter_tensors())
    if (n == name) return wrap(t);
  throw InvalidArgument("no parameter named " + name);
}

void CausalLM::set_activation_checkpointing(bool on) { impl_->body.set_activation_checkpointing(on); }

void CausalLM::set_full_finetune(bool trainable) {
  for (auto& [name, t] : impl_->body.named_tensors()) {
    if (!t.is_floating_point()) continue;
    at::Tensor p = t;
    if (trainable && !p.is_leaf()) throw InvalidArgument("parameter " + name + " is not a leaf");
    p.requires_grad_(trainable);
  }
}

namespace {

// The projections whose names end with one of `suffixes`. Errors list the model's projections
// when nothing matches, or (every_target) when any one suffix matches nothing.
std::vector<Linear*> matching(Transformer& body, const std::vector<std::string>& suffixes, const std::string& what = "LoRA",
                              bool every_target = false) {
  if (suffixes.empty()) throw InvalidArgument(what + ": no target modules given");
  std::vector<Linear*> out;
  std::set<std::string> kinds, used;
  for (Linear* l : body.linears()) {
    kinds.insert(l->name.substr(l->name.rfind('.', l->name.rfind('.') - 1) + 1));
    bool hit = false;
    for (const auto& s : suffixes)
      if (ends_with_module(l->name, s)) {
        used.insert(s);
        hit = true;
      }
    if (hit) out.push_back(l);
  }
  std::string unmatched;
  for (const auto& s : suffixes)
    if (!used.count(s)) unmatched += (unmatched.empty() ? "" : ", ") + s;
  if (out.empty() || (every_target && !unmatched.empty())) {
    std::string names;
    for (const auto& k : kinds) names += (names.empty() ? "" : ", ") + k;
    throw InvalidArgument(what + ": no module matches the target" + (out.empty() ? "s" : "s " + unmatched) + "; this model's projections are " + names);
  }
  return out;
}

// The LoRA of module `l` in a peft checkpoint: A (r, in) and B (out, r) as `dtype` on `device`
// (copies, never views of the file), checked against the module's shape.
std::shared_ptr<adapters::Lora> read_lora(const SafetensorsCheckpoint& weights, const std::string& dir, const Linear& l, double alpha,
                                          at::ScalarType dtype, at::Device device) {
  const std::string base = kPeftPrefix + l.name;
  at::Tensor a = weights.tensor(base + ".lora_A.weight", dtype);  // (r, in)
  at::Tensor b = weights.tensor(base + ".lora_B.weight", dtype);  // (out, r)
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != l.in_features() || b.size(0) != l.out_features() || a.size(0) != b.size(1))
    throw InvalidArgument(dir + ": LoRA tensors of " + l.name + " do not fit the module");
  return std::make_shared<adapters::Lora>(a.clone().to(device), b.clone().to(device), alpha);
}

}  // namespace

void CausalLM::add_lora(const LoraOptions& o) {
  if (o.rank <= 0) throw InvalidArgument("LoRA rank must be positive");
  if (has_adapters()) throw InvalidArgument("this model already has adapters");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const auto opts = at::TensorOptions().dtype(impl_->dtype);
  for (Linear* l : matching(impl_->body, o.target_suffixes)) {
    // peft's default: A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0
    const double bound = 1.0 / std::sqrt(static_cast<double>(l->in_features()));
    at::Tensor a = at::empty({o.rank, l->in_features()}, opts.dtype(at::kFloat)).uniform_(-bound, bound, generator).to(impl_->dtype);
    at::Tensor b = at::zeros({l->out_features(), o.rank}, opts).to(impl_->device);
    auto lora = std::make_shared<adapters::Lora>(a.to(impl_->device), b, o.alpha);
    l->adapter = lora;
    impl_->adapters.push_back({l, lora});
  }
}

void CausalLM::load_lora(const std::string& dir, const LoraOptions& o) {
  if (has_adapters()) throw InvalidArgument("this model already has adapters");
  SafetensorsCheckpoint weights(dir, "adapter_model");
  for (Linear* l : matching(impl_->body, o.target_suffixes)) {
    auto lora = read_lora(weights, dir, *l, o.alpha, impl_->dtype, impl_->device);
    l->adapter = lora;
    impl_->adapters.push_back({l, lora});
  }
}

void CausalLM::merge_lora_from(const std::string& dir, const LoraOptions& o, double scale) {
  if (!std::isfinite(scale)) throw InvalidArgument("the weight of a merged adapter must be finite");
  at::NoGradGuard no_grad;
  SafetensorsCheckpoint weights(dir, "adapter_model");
  // Every module's factors are read and checked before the first weight changes, so a bad
  // adapter leaves the model as it was. ΔW = (alpha / r) B A is formed in float32 whatever the
  // compute dtype, one module at a time (no second copy of the weights).
  std::vector<std::pair<Linear*, std::shared_ptr<adapters::Lora>>> loras;
  for (Linear* l : matching(impl_->body, o.target_suffixes)) loras.emplace_back(l, read_lora(weights, dir, *l, o.alpha, at::kFloat, impl_->device));
  for (auto& [l, lora] : loras) l->add_delta(lora->delta_weight(), scale);  // (out, in)
}

void CausalLM::save_lora(const std::string& file) const {
  if (!has_adapters()) throw InvalidArgument("this model has no adapters to save");
  save_safetensors(file, impl_->adapter_tensors(), {{"format", "pt"}});
}

void CausalLM::set_adapters_enabled(bool enabled) {
  for (auto& a : impl_->adapters) a.linear->adapter_enabled = enabled;
}
void CausalLM::merge_adapters() { impl_->merge_all(); }
void CausalLM::unmerge_adapters() { impl_->unmerge_all(); }
bool CausalLM::has_adapters() const { return !impl_->adapters.empty(); }

// ---- Panacea's SVD-LoRA ----------------------------------------------------------------------

namespace {

const std::string kSvdFormat = "moalign.svd_lora";
const char* const kSvdTensors[] = {"svd_lora_U", "svd_lora_V", "svd_lora_sigma", "svd_lora_s"};

void check_svd_options(const SvdLoraOptions& o) {
  if (o.rank < 1) throw InvalidArgument("SVD-LoRA: k (the free singular values) must be >= 1, got " + std::to_string(o.rank));
  if (o.preferences < 1) throw InvalidArgument("SVD-LoRA: m (the objectives) must be >= 1, got " + std::to_string(o.preferences));
  if (!(o.alpha > 0) || !std::isfinite(o.alpha)) throw InvalidArgument("SVD-LoRA: alpha must be a finite number > 0");
  if (o.init != "zeroDiag" && o.init != "kaiming") throw InvalidArgument("SVD-LoRA: init must be zeroDiag or kaiming, not " + o.init);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw InvalidArgument("SVD-LoRA: dropout must lie in [0, 1), got " + std::to_string(o.dropout));
}

std::shared_ptr<adapters::DropoutStream> dropout_stream(const SvdLoraOptions& o) {
  auto d = std::make_shared<adapters::DropoutStream>();
  d->p = o.dropout;
  return d;
}

std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

// FNV-1a, 64 bits: enough to tell base models apart, not a security hash.
struct Fnv1a {
  uint64_t h = 0xcbf29ce484222325ULL;
  void bytes(const void* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 0x100000001b3ULL;
  }
  void text(const std::string& s) { bytes(s.data(), s.size() + 1); }  // the NUL keeps fields apart
  void number(int64_t x) { bytes(&x, sizeof x); }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
};

std::string short_fingerprint(const std::string& fp) { return fp.substr(0, 12); }

}  // namespace

void CausalLM::add_svd_lora(const SvdLoraOptions& o) {
  if (has_adapters()) throw InvalidArgument("this model already has adapters");
  check_svd_options(o);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const int64_t k = o.rank, r = o.rank + o.preferences;
  // Adapter tensors are float32 whatever the compute dtype (panacea.md §6.7); drawn on the CPU so
  // that a seed gives the same adapter on every device. ΔW(λ) = 0 for every λ at the start: with
  // zeroDiag σ = s = 0, with kaiming U = 0 (design §3).
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const auto dropout = dropout_stream(o);
  std::vector<std::pair<Linear*, std::shared_ptr<adapters::SvdLora>>> made;
  for (Linear* l : matching(impl_->body, o.target_suffixes, "SVD-LoRA", /*every_target=*/true)) {
    at::Tensor u, v, sigma = at::zeros({k}, f32), s = at::zeros({1}, f32);
    if (o.init == "zeroDiag") {
      u = at::empty({l->out_features(), r}, f32).normal_(0, 0.02, generator);  // (out, r)
      v = at::empty({l->in_features(), r}, f32).normal_(0, 0.02, generator);   // (in, r)
    } else {
      // the second re-implementation: V kaiming-uniform (peft's LoRA A bound 1/sqrt(in)), U = 0
      const double bound = 1.0 / std::sqrt(static_cast<double>(l->in_features()));
      v = at::empty({l->in_features(), r}, f32).uniform_(-bound, bound, generator);
      u = at::zeros({l->out_features(), r}, f32);
      sigma.normal_(0, 0.02, generator);
      s.normal_(0, 0.5, generator);
    }
    const at::Device d = impl_->device;
    made.emplace_back(l, std::make_shared<adapters::SvdLora>(l->name, u.to(d), v.to(d), sigma.to(d), s.to(d), o.alpha, dropout));
  }
  impl_->attach_svd(made, o, dropout);
}

void CausalLM::set_preference(const Tensor& lambda) {
  if (impl_->svd.layers.empty()) throw InvalidArgument("this model has no SVD-LoRA adapters; add or load them before setting a preference");
  impl_->set_preference(simplex_rows(aten(lambda), preference_dim()));
}

int64_t CausalLM::preference_dim() const { return impl_->svd.layers.empty() ? 0 : impl_->svd.options.preferences; }

double CausalLM::svd_lora_dropout() const { return impl_->svd.layers.empty() ? 0 : impl_->svd.options.dropout; }

void CausalLM::set_dropout_seed(std::optional<uint64_t> seed) {
  if (!impl_->svd.dropout) return;
  if (seed) impl_->svd.dropout->start(*seed);
  else impl_->svd.dropout->stop();
}

Tensor CausalLM::svd_orthogonality() const {
  if (impl_->svd.layers.empty()) throw InvalidArgument("the orthogonality regulariser needs SVD-LoRA adapters; this model has none");
  at::Tensor total;
  for (const auto& layer : impl_->svd.layers)
    for (const at::Tensor& f : {layer->u(), layer->v()}) {
      const at::Tensor gram = at::mm(f.t(), f);  // (r, r)   F^T F
      const at::Tensor term = (gram - at::eye(gram.size(0), gram.options())).pow(2).sum();
      total = total.defined() ? total + term : term;
    }
  return wrap(total);
}

void CausalLM::save_svd_lora(const std::string& file, const std::map<std::string, std::string>& extra) const {
  if (impl_->svd.layers.empty()) throw InvalidArgument("this model has no SVD-LoRA adapters to save");
  const SvdLoraOptions& o = impl_->svd.options;
  std::string targets = "[";
  for (const auto& t : o.target_suffixes) targets += (targets.size() > 1 ? "," : "") + json::quote(t);
  targets += "]";
  std::map<std::string, std::string> meta{{"format", kSvdFormat},
                                          {"k", std::to_string(o.rank)},
                                          {"m", std::to_string(o.preferences)},
                                          {"alpha", number_text(o.alpha)},
                                          {"init", o.init},
                                          {"dropout", number_text(o.dropout)},
                                          {"targets", targets},
                                          {"layout", layout_name(config().layout)},
                                          {"fingerprint", fingerprint()}};
  for (const auto& [key, value] : extra)
    if (!meta.emplace(key, value).second) throw InvalidArgument("SVD-LoRA metadata key " + key + " is reserved");
  // Names as parameter_names() gives them: base_model.model.<module>.svd_lora_{U,V,sigma,s}. λ is
  // not saved: it is chosen at inference (pitfall 1).
  save_safetensors(file, impl_->adapter_tensors(), meta);
}

std::map<std::string, std::string> CausalLM::load_svd_lora(const std::string& file) {
  if (has_adapters()) throw InvalidArgument("this model already has adapters");
  const SafetensorsFile f(file);
  const auto& meta = f.metadata();
  auto field = [&](const std::string& key) -> const std::string& {
    const auto it = meta.find(key);
    if (it == meta.end()) throw InvalidArgument(file + ": not a moalign SVD-LoRA file (no \"" + key + "\" in its metadata)");
    return it->second;
  };
  if (field("format") != kSvdFormat) throw InvalidArgument(file + ": not a moalign SVD-LoRA file (format " + field("format") + ")");
  const std::string layout = layout_name(config().layout);
  if (field("layout") != layout) throw InvalidArgument(file + ": the adapter was made for a " + field("layout") + " model, this model is " + layout);
  const std::string fp = fingerprint();
  if (field("fingerprint") != fp)
    throw InvalidArgument(file + ": the adapter was trained on base model " + short_fingerprint(field("fingerprint")) + ", this model is " +
                          short_fingerprint(fp));
  SvdLoraOptions o;
  try {
    o.rank = std::stoll(field("k"));
    o.preferences = std::stoll(field("m"));
    o.alpha = std::stod(field("alpha"));
    o.init = field("init");
    // Files written before the option existed have no key: no dropout.
    if (const auto it = meta.find("dropout"); it != meta.end()) o.dropout = std::stod(it->second);
    const json::Value targets = json::parse(field("targets"), file + " (targets)");
    for (const auto& t : targets.array) o.target_suffixes.push_back(t.string);
  } catch (const InvalidArgument&) {
    throw;
  } catch (const std::exception& e) {
    throw InvalidArgument(file + ": corrupt SVD-LoRA metadata: " + e.what());
  }
  check_svd_options(o);
  const auto dropout = dropout_stream(o);
  // Every module's tensors are read and checked before the first is attached.
  const int64_t k = o.rank, r = o.rank + o.preferences;
  std::vector<std::pair<Linear*, std::shared_ptr<adapters::SvdLora>>> made;
  for (Linear* l : matching(impl_->body, o.target_suffixes, "SVD-LoRA", /*every_target=*/true)) {
    const std::vector<std::vector<int64_t>> shapes{{l->out_features(), r}, {l->in_features(), r}, {k}, {1}};
    std::vector<at::Tensor> t;
    for (int i = 0; i < 4; ++i) {
      const std::string name = kPeftPrefix + l->name + "." + kSvdTensors[i];
      if (!f.contains(name)) throw InvalidArgument(file + ": missing tensor " + name);
      at::Tensor x = f.tensor(name, at::kFloat);
      if (x.sizes().vec() != shapes[i]) throw InvalidArgument(file + ": tensor " + name + " has the wrong shape for module " + l->name);
      if (!at::isfinite(x).all().item<bool>()) throw InvalidArgument(file + ": tensor " + name + " holds non-finite values (corrupt file?)");
      t.push_back(x.clone().to(impl_->device));  // a copy, never a view of the mapping
    }
    made.emplace_back(l, std::make_shared<adapters::SvdLora>(l->name, t[0], t[1], t[2], t[3], o.alpha, dropout));
  }
  if (f.entries().size() != 4 * made.size())
    throw InvalidArgument(file + ": holds " + std::to_string(f.entries().size()) + " tensors, the targets need " + std::to_string(4 * made.size()));
  impl_->attach_svd(made, o, dropout);
  return meta;
}

std::string CausalLM::fingerprint() const {
  at::NoGradGuard no_grad;
  const ModelConfig& c = config();
  Fnv1a h;
  h.text(layout_name(c.layout));
  for (int64_t x : {c.vocab_size, c.hidden_size, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, c.intermediate_size, c.max_positions,
                    static_cast<int64_t>(c.tie_embeddings), static_cast<int64_t>(c.qkv_bias), c.num_labels})
    h.number(x);
  for (double x : {c.norm_eps, c.rope_theta}) h.bytes(&x, sizeof x);
  // Merged weights count as the W0 they were merged into.
  std::map<std::string, const at::Tensor*> before_merge;
  for (const Linear* l : std::as_const(impl_->body).linears())
    if (l->merged) before_merge[l->name + ".weight"] = &l->weight_before_merge;
  for (const auto& [name, t] : impl_->body.named_tensors()) {
    const auto it = before_merge.find(name);
    const at::Tensor& w = it == before_merge.end() ? t : *it->second;
    h.text(name);
    for (int64_t d : w.sizes()) h.number(d);
    if (!w.is_floating_point() || w.numel() == 0) continue;
    // ≤ 4096 values at a stride, rounded to bfloat16: a float32 and a bfloat16 load of one
    // checkpoint agree, and hashing stays cheap for large models.
    const int64_t n = w.numel(), step = (n + 4095) / 4096;
    const at::Tensor sample = w.detach().reshape({-1}).slice(0, 0, n, step).to(at::kCPU).to(at::kBFloat16).contiguous();
    h.bytes(sample.data_ptr(), static_cast<std::size_t>(sample.numel()) * sample.element_size());
  }
  return h.hex();
}

void CausalLM::save(const std::string& file, const std::string& dtype) const {
  at::NoGradGuard no_grad;
  std::string st_dtype;
  if (!dtype.empty()) st_dtype = safetensors_dtype_of(parse_dtype(dtype));
  save_safetensors(file, impl_->body.named_tensors(), {{"format", "pt"}}, st_dtype);
}

}  // namespace moalign::model
