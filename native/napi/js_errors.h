// Turning native exceptions into JS errors, and guarding every entry point with it.
#pragma once
#include <napi.h>

#include <exception>

#include "core/errors.h"

namespace moalign::napi {

// Error with `code`: ERR_MOALIGN_INVALID_ARGUMENT, ERR_MOALIGN_TORCH, ERR_MOALIGN_NATIVE, ABORT_ERR
// (named AbortError, as DOM aborts are).
Napi::Error to_js_error(Napi::Env env, const ErrorDescription& error);

[[noreturn]] void throw_invalid(Napi::Env env, const std::string& message);
[[noreturn]] void throw_type_error(Napi::Env env, const std::string& message);

// Runs `body`; a C++ or libtorch exception leaves as a JS Error, never as a crash.
template <typename F>
Napi::Value guarded(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw to_js_error(env, describe_exception(std::current_exception()));
  }
}

}  // namespace moalign::napi
