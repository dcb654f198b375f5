// The addon instance: one per JS context (main thread or worker), holding its class constructors.
#pragma once
#include <napi.h>

namespace moalign::napi {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  Napi::FunctionReference tensor_constructor;
  Napi::FunctionReference cancel_token_constructor;
};

// Each exported group registers itself on `exports`.
void register_runtime(Napi::Env env, Napi::Object exports);
void register_benchmarks(Napi::Env env, Napi::Object exports);
void register_moo(Napi::Env env, Napi::Object exports);
void register_train(Napi::Env env, Napi::Object exports);
void register_soup(Napi::Env env, Napi::Object exports);

}  // namespace moalign::napi
