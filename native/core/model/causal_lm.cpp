#include "core/model/causal_lm.h"

#include <ATen/TensorOperators.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/empty.h>
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
#include <set>

#include "core/adapters/lora.h"
#include "core/aten_bridge.h"
#include "core/errors.h"
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
    impl_ = std::make_unique<Impl>(Impl{Transformer(config, FreshWeights(*options.init_seed), dtype), device, dtype, {}});
  } else {
    const SafetensorsCheckpoint checkpoint(dir);
    impl_ = std::make_unique<Impl>(Impl{Transformer(config, CheckpointWeights(checkpoint), dtype), device, dtype, {}});
  }
  impl_->body.to(device);
}

CausalLM::~CausalLM() = default;
CausalLM::CausalLM(CausalLM&&) noexcept = default;
CausalLM& CausalLM::operator=(CausalLM&&) noexcept = default;

const ModelConfig& CausalLM::config() const { return impl_->body.config(); }

Tensor CausalLM::logits(const Batch& batch) const {
  at::NoGradGuard no_grad;
  const auto in = impl_->inputs(batch);
  return wrap(impl_->body.lm_logits(impl_->hidden(in)).to(at::kFloat).cpu());
}

Tensor CausalLM::scores(const Batch& batch) const {
  at::NoGradGuard no_grad;
  const auto in = impl_->inputs(batch);
  const at::Tensor s = impl_->body.scores(impl_->hidden(in));  // (B, T, L)
  // The last real token of each row (right padding) or the last slot (left padding).
  const int64_t T = in.ids.size(1);
  const at::Tensor slot = at::arange(T, at::TensorOptions().dtype(at::kLong).device(impl_->device));
  const at::Tensor last = (slot.unsqueeze(0) * in.key_mask.to(at::kLong)).argmax(1);  // (B)
  const at::Tensor picked = s.gather(1, last.view({-1, 1, 1}).expand({s.size(0), 1, s.size(2)})).squeeze(1);
  return wrap(picked.to(at::kFloat).cpu());
}

double CausalLM::loss(const Batch& batch, const Tensor& labels_t, bool backward, double backward_scale) {
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

SequenceLogProbs CausalLM::log_probs(const Batch& batch, const Tensor& labels) const {
  at::NoGradGuard no_grad;
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

GenerateResult CausalLM::generate(const std::vector<std::vector<int64_t>>& prompts, const GenerateOptions& o, const CancelToken* cancel,
                                  const StepProgress& progress) const {
  at::NoGradGuard no_grad;
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
  for (const auto& a : impl_->adapters)
    for (const auto& [name, t] : a.adapter->parameters())
      if (!trainable_only || t.requires_grad()) out.push_back(kPeftPrefix + a.linear->name + "." + name);
  return out;
}

Tensor CausalLM::parameter(const std::string& name) const {
  for (const auto& [n, t] : impl_->body.named_tensors())
    if (n == name) return wrap(t);
  for (const auto& a : impl_->adapters)
    for (const auto& [n, t] : a.adapter->parameters())
      if (kPeftPrefix + a.linear->name + "." + n == name) return wrap(t);
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

std::vector<Linear*> matching(Transformer& body, const std::vector<std::string>& suffixes) {
  if (suffixes.empty()) throw InvalidArgument("LoRA: no target modules given");
  std::vector<Linear*> out;
  std::set<std::string> kinds;
  for (Linear* l : body.linears()) {
    kinds.insert(l->name.substr(l->name.rfind('.', l->name.rfind('.') - 1) + 1));
    for (const auto& s : suffixes)
      if (ends_with_module(l->name, s)) {
        out.push_back(l);
        break;
      }
  }
  if (out.empty()) {
    std::string names;
    for (const auto& k : kinds) names += (names.empty() ? "" : ", ") + k;
    throw InvalidArgument("LoRA: no module matches the targets; this model's projections are " + names);
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
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& a : impl_->adapters)
    for (const auto& [n, t] : a.adapter->parameters()) tensors.emplace_back(kPeftPrefix + a.linear->name + "." + n, t);
  save_safetensors(file, tensors, {{"format", "pt"}});
}

void CausalLM::set_adapters_enabled(bool enabled) {
  for (auto& a : impl_->adapters) a.linear->adapter_enabled = enabled;
}
void CausalLM::merge_adapters() {
  for (auto& a : impl_->adapters) a.linear->merge();
}
void CausalLM::unmerge_adapters() {
  for (auto& a : impl_->adapters) a.linear->unmerge();
}
bool CausalLM::has_adapters() const { return !impl_->adapters.empty(); }

void CausalLM::save(const std::string& file, const std::string& dtype) const {
  at::NoGradGuard no_grad;
  std::string st_dtype;
  if (!dtype.empty()) st_dtype = safetensors_dtype_of(parse_dtype(dtype));
  save_safetensors(file, impl_->body.named_tensors(), {{"format", "pt"}}, st_dtype);
}

}  // namespace moalign::model
