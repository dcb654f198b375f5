// JS class Tensor: owns a moalign::Tensor until dispose() or garbage collection.
#pragma once
#include <napi.h>

#include <optional>

#include "core/tensor.h"

namespace moalign::napi {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, Tensor tensor);    // a new JS Tensor owning `tensor`
  static const Tensor& unwrap(const Napi::Value& value, const char* what);  // type-tag checked

  explicit TensorWrap(const Napi::CallbackInfo& info);

 private:
  const Tensor& tensor(Napi::Env env) const;  // throws ERR_MOALIGN_DISPOSED after dispose()

  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value requires_grad(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value to_array(const Napi::CallbackInfo& info);
  // this.op(other) for the core's binary ops; `Name` is how errors name the argument.
  template <Tensor (Tensor::*Op)(const Tensor&) const, const char* Name>
  Napi::Value binary(const Napi::CallbackInfo& info);
  Napi::Value sum(const Napi::CallbackInfo& info);
  Napi::Value backward(const Napi::CallbackInfo& info);
  Napi::Value grad(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::optional<Tensor> tensor_;
};

}  // namespace moalign::napi
