// trainSft(model, ids, labels, offsets, options, cancel?, onProgress?): the whole SFT run in
// native code; progress arrives as (step, steps, loss, lr, gradNorm, tokensPerSecond, elapsedSeconds).
#include "addon.h"
#include "cancel_token_wrap.h"
#include "causal_lm_wrap.h"
#include "convert.h"
#include "core/train/trainer.h"
#include "js_errors.h"
#include "promise_worker.h"

namespace moalign::napi {

namespace {

std::vector<train::Example> to_examples(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[1].IsTypedArray() || !info[2].IsTypedArray() || !info[3].IsTypedArray())
    throw_type_error(env, "trainSft(model, ids, labels, offsets, ...): ids, labels and offsets must be Int32Arrays");
  const Napi::Int32Array ids = info[1].As<Napi::Int32Array>(), labels = info[2].As<Napi::Int32Array>(), offsets = info[3].As<Napi::Int32Array>();
  if (ids.ElementLength() != labels.ElementLength()) throw_invalid(env, "ids and labels must have the same length");
  if (offsets.ElementLength() < 1 || offsets[0] != 0 || static_cast<std::size_t>(offsets[offsets.ElementLength() - 1]) != ids.ElementLength())
    throw_invalid(env, "offsets must start at 0 and end at ids.length");
  std::vector<train::Example> out(offsets.ElementLength() - 1);
  for (std::size_t i = 0; i + 1 < offsets.ElementLength(); ++i) {
    const int32_t a = offsets[i], b = offsets[i + 1];
    if (b < a) throw_invalid(env, "offsets must not decrease");
    out[i].ids.assign(ids.Data() + a, ids.Data() + b);
    out[i].labels.assign(labels.Data() + a, labels.Data() + b);
  }
  return out;
}

train::TrainOptions to_options(const Napi::Object& o) {
  train::TrainOptions t;
  t.steps = option_int(o, "steps", 100, 1);
  t.batch_size = option_int(o, "batchSize", 8, 1);
  t.grad_accum = option_int(o, "gradAccum", 1, 1);
  t.lr = option_number(o, "lr", 1e-4);
  t.warmup_steps = option_int(o, "warmupSteps", 0, 0);
  t.schedule = option_string(o, "schedule", "linear");
  t.min_lr_ratio = option_number(o, "minLrRatio", 0);
  t.weight_decay = option_number(o, "weightDecay", 0);
  t.beta1 = option_number(o, "beta1", 0.9);
  t.beta2 = option_number(o, "beta2", 0.999);
  t.eps = option_number(o, "eps", 1e-8);
  t.max_grad_norm = option_number(o, "maxGradNorm", 1.0);
  t.seed = static_cast<uint64_t>(option_number(o, "seed", 0));
  t.pad_id = option_int(o, "padId", 0, 0);
  t.checkpoint_dir = option_string(o, "checkpointDir", "");
  t.checkpoint_every = option_int(o, "checkpointEvery", 0, 0);
  t.resume = option_bool(o, "resume", true);
  t.autocast = option_string(o, "autocast", "");
  t.activation_checkpointing = option_bool(o, "activationCheckpointing", false);
  return t;
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
        [](Napi::Env env, train::TrainReport& r) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          Napi::Float64Array losses = Napi::Float64Array::New(env, r.losses.size());
          for (std::size_t i = 0; i < r.losses.size(); ++i) losses[i] = r.losses[i];
          out.Set("losses", losses);
          out.Set("startStep", Napi::Number::New(env, static_cast<double>(r.start_step)));
          out.Set("tokens", Napi::Number::New(env, static_cast<double>(r.tokens)));
          out.Set("seconds", Napi::Number::New(env, r.seconds));
          return out;
        },
        info.Length() > 6 ? info[6] : env.Undefined(), {info[0]}));
  });
}

}  // namespace

void register_train(Napi::Env env, Napi::Object exports) { exports.Set("trainSft", Napi::Function::New<train_sft>(env, "trainSft")); }

}  // namespace moalign::napi
