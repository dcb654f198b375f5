// JS class CancelToken: the native side of an AbortSignal. The TS layer calls cancel() when
// the signal aborts; workers hold the shared flag, not the JS object.
#pragma once
#include <napi.h>

#include "core/cancel.h"

namespace moalign::napi {

class CancelTokenWrap : public Napi::ObjectWrap<CancelTokenWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // The token behind an optional JS argument (a fresh, never-cancelled one for undefined).
  static CancelTokenPtr from_arg(const Napi::Value& value);

  explicit CancelTokenWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value cancelled(const Napi::CallbackInfo& info);

  CancelTokenPtr token_;
};

}  // namespace moalign::napi
