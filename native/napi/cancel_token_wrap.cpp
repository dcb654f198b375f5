#include "cancel_token_wrap.h"

#include "js_errors.h"

namespace moalign::napi {

static const napi_type_tag kCancelTokenTag = {0x6d6f616c69676e01ULL, 0x43616e63656c0001ULL};

Napi::Function CancelTokenWrap::define(Napi::Env env) {
  return DefineClass(env, "CancelToken",
                     {InstanceMethod<&CancelTokenWrap::cancel>("cancel"), InstanceAccessor<&CancelTokenWrap::cancelled>("cancelled")});
}

CancelTokenWrap::CancelTokenWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CancelTokenWrap>(info), token_(std::make_shared<CancelToken>()) {
  info.This().As<Napi::Object>().TypeTag(&kCancelTokenTag);
}

CancelTokenPtr CancelTokenWrap::from_arg(const Napi::Value& value) {
  if (value.IsUndefined() || value.IsNull()) return std::make_shared<CancelToken>();
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kCancelTokenTag)) {
    throw_type_error(value.Env(), "cancel must be a CancelToken");
  }
  return Unwrap(value.As<Napi::Object>())->token_;
}

Napi::Value CancelTokenWrap::cancel(const Napi::CallbackInfo& info) {
  token_->cancel();
  return info.Env().Undefined();
}

Napi::Value CancelTokenWrap::cancelled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), token_->cancelled()); }

}  // namespace moalign::napi
