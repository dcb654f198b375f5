// JS class CausalLM: owns a core model::CausalLM until dispose() or garbage collection.
// Quick calls run synchronously on the compute thread; generation returns a Promise.
#pragma once
#include <napi.h>

#include <memory>

#include "core/model/causal_lm.h"

namespace moalign::napi {

class CausalLMWrap : public Napi::ObjectWrap<CausalLMWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // new CausalLM(dir, config, { dtype, device })
  explicit CausalLMWrap(const Napi::CallbackInfo& info);
  // The model behind a JS CausalLM argument (type-tag checked; throws after dispose()).
  static std::shared_ptr<model::CausalLM> shared(const Napi::Value& value, const char* what);

 private:
  model::CausalLM& model(Napi::Env env);

  Napi::Value logits(const Napi::CallbackInfo& info);
  Napi::Value scores(const Napi::CallbackInfo& info);
  Napi::Value loss(const Napi::CallbackInfo& info);
  Napi::Value log_probs(const Napi::CallbackInfo& info);
  Napi::Value generate(const Napi::CallbackInfo& info);
  Napi::Value dpo_loss(const Napi::CallbackInfo& info);
  Napi::Value parameter_names(const Napi::CallbackInfo& info);
  Napi::Value parameter(const Napi::CallbackInfo& info);
  Napi::Value set_full_finetune(const Napi::CallbackInfo& info);
  Napi::Value add_lora(const Napi::CallbackInfo& info);
  Napi::Value load_lora(const Napi::CallbackInfo& info);
  Napi::Value merge_lora_from(const Napi::CallbackInfo& info);
  Napi::Value save_lora(const Napi::CallbackInfo& info);
  Napi::Value set_adapters_enabled(const Napi::CallbackInfo& info);
  Napi::Value merge_adapters(const Napi::CallbackInfo& info);
  Napi::Value unmerge_adapters(const Napi::CallbackInfo& info);
  Napi::Value add_svd_lora(const Napi::CallbackInfo& info);
  Napi::Value set_preference(const Napi::CallbackInfo& info);
  Napi::Value preference_dim(const Napi::CallbackInfo& info);
  Napi::Value save_svd_lora(const Napi::CallbackInfo& info);
  Napi::Value load_svd_lora(const Napi::CallbackInfo& info);
  Napi::Value fingerprint(const Napi::CallbackInfo& info);
  Napi::Value save(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);

  std::shared_ptr<model::CausalLM> model_;  // shared with in-flight generation
};

}  // namespace moalign::napi
