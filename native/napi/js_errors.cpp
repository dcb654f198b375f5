#include "js_errors.h"

namespace moalign::napi {

Napi::Error to_js_error(Napi::Env env, const ErrorDescription& error) {
  Napi::Error js = Napi::Error::New(env, error.message);
  const char* code = "ERR_MOALIGN_NATIVE";
  switch (error.kind) {
    case ErrorKind::InvalidArgument: code = "ERR_MOALIGN_INVALID_ARGUMENT"; break;
    case ErrorKind::Torch: code = "ERR_MOALIGN_TORCH"; break;
    case ErrorKind::Cancelled:
      code = "ABORT_ERR";
      js.Set("name", Napi::String::New(env, "AbortError"));
      break;
    case ErrorKind::Other: break;
  }
  js.Set("code", Napi::String::New(env, code));
  return js;
}

void throw_invalid(Napi::Env env, const std::string& message) {
  throw to_js_error(env, {ErrorKind::InvalidArgument, message});
}

void throw_type_error(Napi::Env env, const std::string& message) {
  Napi::TypeError err = Napi::TypeError::New(env, message);
  err.Set("code", Napi::String::New(env, "ERR_MOALIGN_INVALID_ARGUMENT"));
  throw err;
}

}  // namespace moalign::napi
