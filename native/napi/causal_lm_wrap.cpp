#include "causal_lm_wrap.h"

#include <cstdlib>

#include "cancel_token_wrap.h"
#include "convert.h"
#include "core/compute_thread.h"
#include "js_errors.h"
#include "promise_worker.h"
#include "tensor_wrap.h"

namespace moalign::napi {

static const napi_type_tag kCausalLMTag = {0x6d6f616c69676e01ULL, 0x43617573616c4c4dULL};

namespace {

model::ModelConfig to_config(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw_type_error(env, "config must be an object");
  const Napi::Object o = value.As<Napi::Object>();
  model::ModelConfig c;
  const std::string layout = option_string(o, "layout", "");
  if (layout == "gpt2") c.layout = model::Layout::Gpt2;
  else if (layout == "llama") c.layout = model::Layout::Llama;
  else throw_invalid(env, "config.layout must be gpt2 or llama, got " + layout);
  c.vocab_size = option_int(o, "vocabSize", 0, 1);
  c.hidden_size = option_int(o, "hiddenSize", 0, 1);
  c.num_layers = option_int(o, "numLayers", 0, 1);
  c.num_heads = option_int(o, "numHeads", 0, 1);
  c.num_kv_heads = option_int(o, "numKvHeads", static_cast<int>(c.num_heads), 1);
  c.head_dim = option_int(o, "headDim", static_cast<int>(c.hidden_size / c.num_heads), 1);
  c.intermediate_size = option_int(o, "intermediateSize", 0, 1);
  c.max_positions = option_int(o, "maxPositions", 0, 1);
  c.norm_eps = option_number(o, "normEps", 1e-5);
  c.rope_theta = option_number(o, "ropeTheta", 10000);
  c.qkv_bias = option_bool(o, "qkvBias", false);
  c.tie_embeddings = option_bool(o, "tieEmbeddings", true);
  c.num_labels = option_int(o, "numLabels", 0, 0);
  c.prefix = option_string(o, "prefix", "");
  c.initializer_range = option_number(o, "initializerRange", 0.02);
  return c;
}

model::Batch to_batch(const Napi::CallbackInfo& info) {
  model::Batch b;
  b.ids = TensorWrap::unwrap(info[0], "ids");
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) b.attention_mask = TensorWrap::unwrap(info[1], "attentionMask");
  return b;
}

model::LoraOptions to_lora(const Napi::Object& o) {
  model::LoraOptions l;
  l.target_suffixes = option_strings(o, "targets");
  l.rank = option_int(o, "rank", 8, 1);
  l.alpha = option_number(o, "alpha", 16);
  l.seed = static_cast<uint64_t>(option_number(o, "seed", 0));
  return l;
}

model::SvdLoraOptions to_svd_lora(const Napi::Object& o) {
  model::SvdLoraOptions l;
  l.target_suffixes = option_strings(o, "targets");
  l.rank = option_int(o, "k", 8, 1);
  l.preferences = option_int(o, "m", 0, 1);
  if (o.Get("m").IsUndefined()) throw_type_error(o.Env(), "addSvdLora: m (the number of objectives) is required");
  l.alpha = option_number(o, "alpha", 512);
  l.seed = static_cast<uint64_t>(option_number(o, "seed", 0));
  l.init = option_string(o, "init", "zeroDiag");
  l.dropout = option_number(o, "dropout", 0);
  return l;
}

}  // namespace

Napi::Function CausalLMWrap::define(Napi::Env env) {
  return DefineClass(env, "CausalLM",
                     {
                         InstanceMethod<&CausalLMWrap::logits>("logits"),
                         InstanceMethod<&CausalLMWrap::scores>("scores"),
                         InstanceMethod<&CausalLMWrap::loss>("loss"),
                         InstanceMethod<&CausalLMWrap::log_probs>("logProbs"),
                         InstanceMethod<&CausalLMWrap::generate>("generate"),
                         InstanceMethod<&CausalLMWrap::dpo_loss>("dpoLoss"),
                         InstanceMethod<&CausalLMWrap::parameter_names>("parameterNames"),
                         InstanceMethod<&CausalLMWrap::parameter>("parameter"),
                         InstanceMethod<&CausalLMWrap::set_full_finetune>("setFullFinetune"),
                         InstanceMethod<&CausalLMWrap::add_lora>("addLora"),
                         InstanceMethod<&CausalLMWrap::load_lora>("loadLora"),
                         InstanceMethod<&CausalLMWrap::merge_lora_from>("mergeLoraFrom"),
                         InstanceMethod<&CausalLMWrap::save_lora>("saveLora"),
                         InstanceMethod<&CausalLMWrap::set_adapters_enabled>("setAdaptersEnabled"),
                         InstanceMethod<&CausalLMWrap::merge_adapters>("mergeAdapters"),
                         InstanceMethod<&CausalLMWrap::unmerge_adapters>("unmergeAdapters"),
                         InstanceMethod<&CausalLMWrap::add_svd_lora>("addSvdLora"),
                         InstanceMethod<&CausalLMWrap::set_preference>("setPreference"),
                         InstanceMethod<&CausalLMWrap::preference_dim>("preferenceDim"),
                         InstanceMethod<&CausalLMWrap::save_svd_lora>("saveSvdLora"),
                         InstanceMethod<&CausalLMWrap::load_svd_lora>("loadSvdLora"),
                         InstanceMethod<&CausalLMWrap::fingerprint>("fingerprint"),
                         InstanceMethod<&CausalLMWrap::save>("save"),
                         InstanceMethod<&CausalLMWrap::dispose>("dispose"),
                         InstanceAccessor<&CausalLMWrap::disposed>("disposed"),
                     });
}

CausalLMWrap::CausalLMWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CausalLMWrap>(info) {
  Napi::Env env = info.Env();
  info.This().As<Napi::Object>().TypeTag(&kCausalLMTag);
  guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw_type_error(env, "new CausalLM(dir, config, options): dir must be a string");
    const std::string dir = info[0].As<Napi::String>().Utf8Value();
    const model::ModelConfig config = to_config(info[1]);
    const Napi::Object o = options_arg(info, 2);
    model::LoadOptions load{option_string(o, "dtype", "float32"), option_string(o, "device", "cpu"), std::nullopt};
    if (o.Has("initSeed") && !o.Get("initSeed").IsUndefined()) load.init_seed = static_cast<uint64_t>(option_int(o, "initSeed", 0, 0));
    model_ = on_compute_thread([&] { return std::make_shared<model::CausalLM>(dir, config, load); });
    return env.Undefined();
  });
}

std::shared_ptr<model::CausalLM> CausalLMWrap::shared(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kCausalLMTag)) throw_type_error(env, std::string(what) + " must be a CausalLM");
  CausalLMWrap* self = Unwrap(value.As<Napi::Object>());
  self->model(env);
  return self->model_;
}

model::CausalLM& CausalLMWrap::model(Napi::Env env) {
  if (!model_) {
    Napi::Error err = Napi::Error::New(env, "CausalLM was disposed; it cannot be used again");
    err.Set("code", Napi::String::New(env, "ERR_MOALIGN_DISPOSED"));
    throw err;
  }
  return *model_;
}

Napi::Value CausalLMWrap::logits(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto& m = model(info.Env());
    const model::Batch b = to_batch(info);
    return Napi::Value(TensorWrap::wrap(info.Env(), on_compute_thread([&] { return m.logits(b); })));
  });
}

Napi::Value CausalLMWrap::scores(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto& m = model(info.Env());
    const model::Batch b = to_batch(info);
    return Napi::Value(TensorWrap::wrap(info.Env(), on_compute_thread([&] { return m.scores(b); })));
  });
}

// loss(ids, mask, labels, backward?)
Napi::Value CausalLMWrap::loss(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto& m = model(info.Env());
    const model::Batch b = to_batch(info);
    const Tensor labels = TensorWrap::unwrap(info[2], "labels");
    const bool backward = info.Length() > 3 && info[3].ToBoolean().Value();
    return Napi::Value(Napi::Number::New(info.Env(), on_compute_thread([&] { return m.loss(b, labels, backward); })));
  });
}

Napi::Value CausalLMWrap::log_probs(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Napi::Env env = info.Env();
    auto& m = model(env);
    const model::Batch b = to_batch(info);
    const Tensor labels = TensorWrap::unwrap(info[2], "labels");
    const model::SequenceLogProbs lp = on_compute_thread([&] { return m.log_probs(b, labels); });
    Napi::Object out = Napi::Object::New(env);
    Napi::Float64Array sum = Napi::Float64Array::New(env, lp.sum.size()), mean = Napi::Float64Array::New(env, lp.mean.size());
    Napi::Int32Array tokens = Napi::Int32Array::New(env, lp.tokens.size());
    for (std::size_t i = 0; i < lp.sum.size(); ++i) {
      sum[i] = lp.sum[i];
      mean[i] = lp.mean[i];
      tokens[i] = static_cast<int32_t>(lp.tokens[i]);
    }
    out.Set("sum", sum);
    out.Set("mean", mean);
    out.Set("tokens", tokens);
    return Napi::Value(out);
  });
}

// generate(prompts: number[][], options, cancelToken?, onProgress?) -> Promise<{tokens, stoppedAtEos, generated, seconds}>
Napi::Value CausalLMWrap::generate(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Napi::Env env = info.Env();
    model(env);
    if (!info[0].IsArray()) throw_type_error(env, "prompts must be an array of token-id arrays");
    const Napi::Array rows = info[0].As<Napi::Array>();
    std::vector<std::vector<int64_t>> prompts(rows.Length());
    for (uint32_t i = 0; i < rows.Length(); ++i) {
      const Napi::Value r = rows.Get(i);
      if (!r.IsArray()) throw_type_error(env, "prompt " + std::to_string(i) + " must be an array of token ids");
      const Napi::Array a = r.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); ++j) {
        const Napi::Value t = a.Get(j);
        const double x = t.IsNumber() ? t.As<Napi::Number>().DoubleValue() : -1;
        if (!(x >= 0) || x != static_cast<double>(static_cast<int64_t>(x)))
          throw_invalid(env, "prompt " + std::to_string(i) + ": token " + std::to_string(j) + " is not a non-negative integer");
        prompts[i].push_back(static_cast<int64_t>(x));
      }
    }
    const Napi::Object o = options_arg(info, 1);
    model::GenerateOptions g;
    g.max_new_tokens = option_int(o, "maxNewTokens", 64, 0);
    g.greedy = option_bool(o, "greedy", true);
    g.temperature = option_number(o, "temperature", 1.0);
    g.top_k = option_int(o, "topK", 0, 0);
    g.top_p = option_number(o, "topP", 1.0);
    g.seed = static_cast<uint64_t>(option_number(o, "seed", 0));
    g.pad_id = option_int(o, "padId", 0, 0);
    const Napi::Value eos = o.Get("eosIds");
    if (eos.IsArray()) {
      const Napi::Array a = eos.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); ++j) g.eos_ids.push_back(a.Get(j).As<Napi::Number>().Int64Value());
    }
    // logitBias: { "<token id>": bias, ... } (OpenAI's shape)
    const Napi::Value lb = o.Get("logitBias");
    if (lb.IsObject()) {
      const Napi::Object m = lb.As<Napi::Object>();
      const Napi::Array keys = m.GetPropertyNames();
      for (uint32_t j = 0; j < keys.Length(); ++j) {
        const std::string key = keys.Get(j).ToString().Utf8Value();
        const Napi::Value v = m.Get(key);
        char* end = nullptr;
        const long long id = std::strtoll(key.c_str(), &end, 10);
        if (key.empty() || *end != '\0' || !v.IsNumber()) throw_invalid(env, "logitBias must map token ids to numbers; bad entry " + key);
        g.logit_bias.emplace_back(id, v.As<Napi::Number>().DoubleValue());
      }
    } else if (!lb.IsUndefined() && !lb.IsNull()) {
      throw_type_error(env, "logitBias must be an object mapping token ids to numbers");
    }
    // preferences: { values (rows * m, row-major), m }, one row per prompt (SVD-LoRA models)
    g.preferences = option_preference_rows(o, "preferences", "generate preferences");
    CancelTokenPtr cancel = CancelTokenWrap::from_arg(info.Length() > 2 ? info[2] : env.Undefined());
    std::shared_ptr<model::CausalLM> m = model_;
    return Napi::Value(PromiseWorker<model::GenerateResult>::start(
        env,
        [m, prompts = std::move(prompts), g, cancel](const ProgressSink& progress) { return m->generate(prompts, g, cancel.get(), progress); },
        [](Napi::Env env, model::GenerateResult& r) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          Napi::Array tokens = Napi::Array::New(env, r.tokens.size()), stopped = Napi::Array::New(env, r.tokens.size());
          for (std::size_t i = 0; i < r.tokens.size(); ++i) {
            Napi::Array row = Napi::Array::New(env, r.tokens[i].size());
            for (std::size_t j = 0; j < r.tokens[i].size(); ++j) row.Set(static_cast<uint32_t>(j), Napi::Number::New(env, static_cast<double>(r.tokens[i][j])));
            tokens.Set(static_cast<uint32_t>(i), row);
            stopped.Set(static_cast<uint32_t>(i), Napi::Boolean::New(env, r.stopped_at_eos[i]));
          }
          out.Set("tokens", tokens);
          out.Set("stoppedAtEos", stopped);
          out.Set("generated", Napi::Number::New(env, static_cast<double>(r.generated)));
          out.Set("seconds", Napi::Number::New(env, r.seconds));
          return out;
        },
        info.Length() > 3 ? info[3] : env.Undefined(), {info[0]}));
  });
}

// dpoLoss(chosenIds, chosenMask, chosenLabels, rejectedIds, rejectedMask, rejectedLabels, beta, backward?)
Napi::Value CausalLMWrap::dpo_loss(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Napi::Env env = info.Env();
    auto& m = model(env);
    auto batch = [&](std::size_t i, const char* what) {
      model::Batch b;
      b.ids = TensorWrap::unwrap(info[i], what);
      if (!info[i + 1].IsUndefined() && !info[i + 1].IsNull()) b.attention_mask = TensorWrap::unwrap(info[i + 1], "attention mask");
      return b;
    };
    const model::Batch chosen = batch(0, "chosenIds"), rejected = batch(3, "rejectedIds");
    const Tensor chosen_labels = TensorWrap::unwrap(info[2], "chosenLabels"), rejected_labels = TensorWrap::unwrap(info[5], "rejectedLabels");
    if (!info[6].IsNumber()) throw_type_error(env, "beta must be a number");
    const double beta = info[6].As<Napi::Number>().DoubleValue();
    const bool backward = info.Length() > 7 && info[7].ToBoolean().Value();
    const model::DpoResult r = on_compute_thread([&] { return m.dpo_loss(chosen, chosen_labels, rejected, rejected_labels, beta, backward); });
    Napi::Object out = Napi::Object::New(env);
    Napi::Float64Array c = Napi::Float64Array::New(env, r.chosen_rewards.size()), rj = Napi::Float64Array::New(env, r.rejected_rewards.size());
    for (std::size_t i = 0; i < r.chosen_rewards.size(); ++i) {
      c[i] = r.chosen_rewards[i];
      rj[i] = r.rejected_rewards[i];
    }
    out.Set("loss", Napi::Number::New(env, r.loss));
    out.Set("chosenRewards", c);
    out.Set("rejectedRewards", rj);
    return Napi::Value(out);
  });
}

Napi::Value CausalLMWrap::parameter_names(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto& m = model(info.Env());
    const bool trainable = info.Length() > 0 && info[0].ToBoolean().Value();
    const auto names = on_compute_thread([&] { return m.parameter_names(trainable); });
    Napi::Array out = Napi::Array::New(info.Env(), names.size());
    for (std::size_t i = 0; i < names.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::String::New(info.Env(), names[i]));
    return Napi::Value(out);
  });
}

Napi::Value CausalLMWrap::parameter(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto& m = model(info.Env());
    if (!info[0].IsString()) throw_type_error(info.Env(), "parameter(name): name must be a string");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    return Napi::Value(TensorWrap::wrap(info.Env(), on_compute_thread([&] { return m.parameter(name); })));
  });
}

namespace {
// Runs a void member on the compute thread and returns undefined.
template <typename F>
Napi::Value run_void(const Napi::CallbackInfo& info, F&& f) {
  return guarded(info.Env(), [&] {
    on_compute_thread(std::forward<F>(f));
    return info.Env().Undefined();
  });
}
std::string string_arg(const Napi::CallbackInfo& info, std::size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) throw_type_error(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}
}  // namespace

Napi::Value CausalLMWrap::set_full_finetune(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const bool on = info.Length() > 0 && info[0].ToBoolean().Value();
  return run_void(info, [&] { m.set_full_finetune(on); });
}
Napi::Value CausalLMWrap::add_lora(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const model::LoraOptions o = to_lora(options_arg(info, 0));
  return run_void(info, [&] { m.add_lora(o); });
}
Napi::Value CausalLMWrap::load_lora(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const std::string dir = string_arg(info, 0, "loadLora(dir, options): dir");
  const model::LoraOptions o = to_lora(options_arg(info, 1));
  return run_void(info, [&] { m.load_lora(dir, o); });
}
// mergeLoraFrom(dir, options, scale)
Napi::Value CausalLMWrap::merge_lora_from(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const std::string dir = string_arg(info, 0, "mergeLoraFrom(dir, options, scale): dir");
  const model::LoraOptions o = to_lora(options_arg(info, 1));
  if (info.Length() < 3 || !info[2].IsNumber()) throw_type_error(info.Env(), "mergeLoraFrom(dir, options, scale): scale must be a number");
  const double scale = info[2].As<Napi::Number>().DoubleValue();
  return run_void(info, [&] { m.merge_lora_from(dir, o, scale); });
}
Napi::Value CausalLMWrap::save_lora(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const std::string file = string_arg(info, 0, "saveLora(file): file");
  return run_void(info, [&] { m.save_lora(file); });
}
Napi::Value CausalLMWrap::set_adapters_enabled(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const bool on = info.Length() > 0 && info[0].ToBoolean().Value();
  return run_void(info, [&] { m.set_adapters_enabled(on); });
}
Napi::Value CausalLMWrap::merge_adapters(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  return run_void(info, [&] { m.merge_adapters(); });
}
Napi::Value CausalLMWrap::unmerge_adapters(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  return run_void(info, [&] { m.unmerge_adapters(); });
}
Napi::Value CausalLMWrap::add_svd_lora(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const model::SvdLoraOptions o = to_svd_lora(options_arg(info, 0));
  return run_void(info, [&] { m.add_svd_lora(o); });
}
// setPreference(values, m): one row (m values) for every sample, or one row per batch row
Napi::Value CausalLMWrap::set_preference(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const auto rows = to_preference_rows(info[0], info[1], "setPreference");
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  const Tensor lambda = Tensor::copy_of(HostArray::over(flat.data(), static_cast<int64_t>(flat.size()), DType::Float64,
                                                        {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, "preference"));
  return run_void(info, [&] { m.set_preference(lambda); });
}
Napi::Value CausalLMWrap::preference_dim(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  return guarded(info.Env(), [&] { return Napi::Value(Napi::Number::New(info.Env(), static_cast<double>(on_compute_thread([&] { return m.preference_dim(); })))); });
}
// saveSvdLora(file, extra: Record<string, string>)
Napi::Value CausalLMWrap::save_svd_lora(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const std::string file = string_arg(info, 0, "saveSvdLora(file, extra): file");
  std::map<std::string, std::string> extra;
  const Napi::Object o = options_arg(info, 1);
  const Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    const Napi::Value v = o.Get(key);
    if (!v.IsString()) throw_type_error(info.Env(), "saveSvdLora: extra metadata " + key + " must be a string");
    extra[key] = v.As<Napi::String>().Utf8Value();
  }
  return run_void(info, [&] { m.save_svd_lora(file, extra); });
}
Napi::Value CausalLMWrap::load_svd_lora(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Napi::Env env = info.Env();
    auto& m = model(env);
    const std::string file = string_arg(info, 0, "loadSvdLora(file): file");
    const auto meta = on_compute_thread([&] { return m.load_svd_lora(file); });
    Napi::Object out = Napi::Object::New(env);
    for (const auto& [k, v] : meta) out.Set(k, Napi::String::New(env, v));
    return Napi::Value(out);
  });
}
Napi::Value CausalLMWrap::fingerprint(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  return guarded(info.Env(), [&] { return Napi::Value(Napi::String::New(info.Env(), on_compute_thread([&] { return m.fingerprint(); }))); });
}
Napi::Value CausalLMWrap::save(const Napi::CallbackInfo& info) {
  auto& m = model(info.Env());
  const std::string file = string_arg(info, 0, "save(file, dtype?): file");
  const std::string dtype = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  return run_void(info, [&] { m.save(file, dtype); });
}

Napi::Value CausalLMWrap::dispose(const Napi::CallbackInfo& info) {
  // In-flight generation holds its own reference; the weights go when it settles.
  if (model_) {
    auto last = std::move(model_);
    ComputeThread::instance().post([last]() mutable { last.reset(); });  // free tensors on the compute thread
  }
  return info.Env().Undefined();
}
Napi::Value CausalLMWrap::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !model_); }

}  // namespace moalign::napi
