// Module entry: context-aware (one Addon per JS context), so worker threads can load it too.
#include "addon.h"

#include "cancel_token_wrap.h"
#include "causal_lm_wrap.h"
#include "tensor_wrap.h"

namespace moalign::napi {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  Napi::Function tensor = TensorWrap::define(env);
  Napi::Function cancel_token = CancelTokenWrap::define(env);
  tensor_constructor = Napi::Persistent(tensor);
  cancel_token_constructor = Napi::Persistent(cancel_token);
  exports.Set("Tensor", tensor);
  exports.Set("CancelToken", cancel_token);
  exports.Set("CausalLM", CausalLMWrap::define(env));
  register_runtime(env, exports);
  register_benchmarks(env, exports);
  register_moo(env, exports);
  register_train(env, exports);
  register_soup(env, exports);
}

}  // namespace moalign::napi

using moalign::napi::Addon;
NODE_API_ADDON(Addon)
