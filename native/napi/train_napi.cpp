// trainSft(model, ids, labels, offsets, options, cancel?, onProgress?): the whole SFT run in
// native code; progress arrives as (step, steps, loss, lr, gradNorm, tokensPerSecond, elapsedSeconds).
// trainPreference(...): DPO / multi-objective preference training on the same loop (below).
#include "addon.h"
#include "cancel_token_wrap.h"
#include "causal_lm_wrap.h"
#include "convert.h"
#include "core/train/trainer.h"
#include "js_errors.h"
#include "promise_worker.h"

namespace moalign::napi {

namespace {

// Examples in CSR layout: ids and labels share offsets (n + 1 of them); label -100 = no loss.
std::vector<train::Example> to_examples(Napi::Env env, const Napi::Value& ids_v, const Napi::Value& labels_v, const Napi::Value& offsets_v,
                                        const std::string& what) {
  if (!ids_v.IsTypedArray() || !labels_v.IsTypedArray() || !offsets_v.IsTypedArray() || ids_v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      labels_v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || offsets_v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type_error(env, what + ": ids, labels and offsets must be Int32Arrays");
  const Napi::Int32Array ids = ids_v.As<Napi::Int32Array>(), labels = labels_v.As<Napi::Int32Array>(), offsets = offsets_v.As<Napi::Int32Array>();
  if (ids.ElementLength() != labels.ElementLength()) throw_invalid(env, what + ": ids and labels must have the same length");
  if (offsets.ElementLength() < 1 || offsets[0] != 0 || static_cast<std::size_t>(offsets[offsets.ElementLength() - 1]) != ids.ElementLength())
    throw_invalid(env, what + ": offsets must start at 0 and end at ids.length");
  std::vector<train::Example> out(offsets.ElementLength() - 1);
  for (std::size_t i = 0; i + 1 < offsets.ElementLength(); ++i) {
    const int32_t a = offsets[i], b = offsets[i + 1];
    if (b < a) throw_invalid(env, what + ": offsets must not decrease");
    out[i].ids.assign(ids.Data() + a, ids.Data() + b);
    out[i].labels.assign(labels.Data() + a, labels.Data() + b);
  }
  return out;
}

std::vector<train::Example> to_examples(const Napi::CallbackInfo& info) { return to_examples(info.Env(), info[1], info[2], info[3], "trainSft(model, ids, labels, offsets, ...)"); }

// {ids, labels, offsets} -> examples.
std::vector<train::Example> to_examples(Napi::Env env, const Napi::Value& value, const std::string& what) {
  if (!value.IsObject()) throw_type_error(env, what + " must be an object {ids, labels, offsets}");
  const Napi::Object o = value.As<Napi::Object>();
  return to_examples(env, o.Get("ids"), o.Get("labels"), o.Get("offsets"), what);
}

std::vector<double> option_numbers(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  std::vector<double> out;
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw_type_error(o.Env(), std::string(key) + " must be an array of numbers");
  const Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    const Napi::Value x = a.Get(i);
    if (!x.IsNumber()) throw_type_error(o.Env(), std::string(key) + " must be an array of numbers");
    out.push_back(x.As<Napi::Number>().DoubleValue());
  }
  return out;
}

// Every option left out keeps TrainOptions' own default (trainer.h).
train::TrainOptions to_options(const Napi::Object& o) {
  train::TrainOptions t;
  t.steps = option_int(o, "steps", t.steps, 1);
  t.batch_size = option_int(o, "batchSize", t.batch_size, 1);
  t.grad_accum = option_int(o, "gradAccum", t.grad_accum, 1);
  t.lr = option_number(o, "lr", t.lr);
  t.warmup_steps = option_int(o, "warmupSteps", t.warmup_steps, 0);
  t.schedule = option_string(o, "schedule", t.schedule);
  t.min_lr_ratio = option_number(o, "minLrRatio", t.min_lr_ratio);
  t.weight_decay = option_number(o, "weightDecay", t.weight_decay);
  t.beta1 = option_number(o, "beta1", t.beta1);
  t.beta2 = option_number(o, "beta2", t.beta2);
  t.eps = option_number(o, "eps", t.eps);
  t.max_grad_norm = option_number(o, "maxGradNorm", t.max_grad_norm);
  t.seed = static_cast<uint64_t>(option_number(o, "seed", static_cast<double>(t.seed)));
  t.pad_id = option_int(o, "padId", t.pad_id, 0);
  t.checkpoint_dir = option_string(o, "checkpointDir", t.checkpoint_dir);
  t.checkpoint_every = option_int(o, "checkpointEvery", t.checkpoint_every, 0);
  t.resume = option_bool(o, "resume", t.resume);
  t.autocast = option_string(o, "autocast", t.autocast);
  t.activation_checkpointing = option_bool(o, "activationCheckpointing", t.activation_checkpointing);
  return t;
}

Napi::Object report_to_js(Napi::Env env, const train::TrainReport& r) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Float64Array losses = Napi::Float64Array::New(env, r.losses.size());
  for (std::size_t i = 0; i < r.losses.size(); ++i) losses[i] = r.losses[i];
  out.Set("losses", losses);
  out.Set("startStep", Napi::Number::New(env, static_cast<double>(r.start_step)));
  out.Set("tokens", Napi::Number::New(env, static_cast<double>(r.tokens)));
  out.Set("seconds", Napi::Number::New(env, r.seconds));
  return out;
}

Napi::Value train_sft(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    std::shared_ptr<model::CausalLM> model = CausalLMWrap::shared(info[0], "model");
    std::vector<train::Example> data = to_examples(info);
    const train::TrainOptions options = to_options(options_arg(info, 4));
    CancelTokenPtr cancel = CancelTokenWrap::from_arg(info.Length() > 5 ? info[5] : env.Undefined());
    return Napi::Value(PromiseWorker<train::TrainReport>::start_reporting(
        env,
        [model, data = std::move(data), options, cancel](const ValuesSink& values) {
          train::TrainProgress progress;
          if (values)
            progress = [&values](const train::StepStats& s) {
              values({static_cast<double>(s.step), static_cast<double>(s.steps), s.loss, s.lr, s.grad_norm, s.tokens_per_second, s.elapsed_seconds});
            };
          return train::train_sft(*model, data, options, cancel.get(), progress);
        },
        [](Napi::Env env, train::TrainReport& r) -> Napi::Value { return report_to_js(env, r); },
        info.Length() > 6 ? info[6] : env.Undefined(), {info[0]}));
  });
}

Napi::Array rows_to_js(Napi::Env env, const std::vector<std::vector<double>>& rows) {
  Napi::Array out = Napi::Array::New(env, rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    Napi::Array row = Napi::Array::New(env, rows[r].size());
    for (std::size_t i = 0; i < rows[r].size(); ++i) row.Set(static_cast<uint32_t>(i), Napi::Number::New(env, rows[r][i]));
    out.Set(static_cast<uint32_t>(r), row);
  }
  return out;
}

// trainPreference(model, chosen, rejected, labels, options, cancel?, onProgress?): chosen and
// rejected are {ids, labels, offsets} (rejected: undefined for SFT), labels a Float64Array of
// n * m per-item objective labels (DPO o_i ∈ {-1, 0, 1}; SFT weights w_i ≥ 0). Progress arrives as
// (step, steps, loss, lr, gradNorm, tokensPerSecond, elapsedSeconds, λ_1..λ_m, L_1..L_m).
Napi::Value train_preference(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    std::shared_ptr<model::CausalLM> model = CausalLMWrap::shared(info[0], "model");
    const std::vector<train::Example> chosen = to_examples(env, info[1], "trainPreference: chosen");
    std::vector<train::Example> rejected;
    if (!info[2].IsUndefined() && !info[2].IsNull()) rejected = to_examples(env, info[2], "trainPreference: rejected");
    if (!rejected.empty() && rejected.size() != chosen.size())
      throw_invalid(env, "trainPreference: " + std::to_string(rejected.size()) + " rejected responses for " + std::to_string(chosen.size()) + " chosen ones");
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw_type_error(env, "trainPreference: labels must be a Float64Array of n * m values");
    const Napi::Float64Array labels = info[3].As<Napi::Float64Array>();
    const std::size_t n = chosen.size();
    if (n > 0 && labels.ElementLength() % n != 0)
      throw_invalid(env, "trainPreference: " + std::to_string(labels.ElementLength()) + " labels do not divide into " + std::to_string(n) + " items");
    const std::size_t m = n > 0 ? labels.ElementLength() / n : 0;
    std::vector<train::PreferenceItem> data(n);
    for (std::size_t i = 0; i < n; ++i) {
      data[i].chosen = chosen[i];
      if (!rejected.empty()) data[i].rejected = rejected[i];
      data[i].labels.assign(labels.Data() + i * m, labels.Data() + (i + 1) * m);
    }
    const Napi::Object o = options_arg(info, 4);
    train::PreferenceTrainOptions options;
    options.base = to_options(o);
    // every option left out keeps PreferenceTrainOptions' own default (trainer.h)
    options.objective = option_string(o, "objective", options.objective);
    options.dpo_beta = option_number(o, "dpoBeta", options.dpo_beta);
    options.aggregation = option_string(o, "aggregation", options.aggregation);
    options.tche_ideal = option_numbers(o, "tcheIdeal");
    options.tche_smoothing = option_number(o, "tcheSmoothing", options.tche_smoothing);
    options.lambda_per = option_string(o, "lambdaPer", options.lambda_per);
    options.vertex_prob = option_number(o, "vertexProb", options.vertex_prob);
    options.fixed_preference = option_numbers(o, "fixedPreference");
    options.orth_reg_weight = option_number(o, "orthRegWeight", options.orth_reg_weight);
    CancelTokenPtr cancel = CancelTokenWrap::from_arg(info.Length() > 5 ? info[5] : env.Undefined());
    return Napi::Value(PromiseWorker<train::PreferenceTrainReport>::start_reporting(
        env,
        [model, data = std::move(data), options, cancel](const ValuesSink& values) {
          train::PreferenceProgress progress;
          if (values)
            progress = [&values](const train::PreferenceStepStats& p) {
              const train::StepStats& s = p.step;
              std::vector<double> v{static_cast<double>(s.step), static_cast<double>(s.steps), s.loss, s.lr, s.grad_norm, s.tokens_per_second, s.elapsed_seconds};
              v.insert(v.end(), p.lambda.begin(), p.lambda.end());
              v.insert(v.end(), p.objective_losses.begin(), p.objective_losses.end());
              values(std::move(v));
            };
          return train::train_preference(*model, data, options, cancel.get(), progress);
        },
        [](Napi::Env env, train::PreferenceTrainReport& r) -> Napi::Value {
          Napi::Object out = report_to_js(env, r.train);
          out.Set("lambdas", rows_to_js(env, r.lambdas));
          out.Set("objectiveLosses", rows_to_js(env, r.objective_losses));
          out.Set("missingObjectiveEvents", Napi::Number::New(env, static_cast<double>(r.missing_objective_events)));
          return out;
        },
        info.Length() > 6 ? info[6] : env.Undefined(), {info[0]}));
  });
}

}  // namespace

void register_train(Napi::Env env, Napi::Object exports) {
  exports.Set("trainSft", Napi::Function::New<train_sft>(env, "trainSft"));
  exports.Set("trainPreference", Napi::Function::New<train_preference>(env, "trainPreference"));
}

}  // namespace moalign::napi
