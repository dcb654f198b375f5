// JS values <-> core types: typed arrays, shapes, options. Argument checks live here.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "core/host_array.h"

namespace moalign::napi {

// A view of the typed array's memory, no copy (Float32/Float64/Int32/BigInt64 Array only).
// The caller must keep `array` alive while the view is used.
HostArray borrow_typed_array(const Napi::Value& array, const Napi::Value& shape, const char* what);

// A typed array over the core's memory, no copy: the JS buffer keeps the storage alive.
Napi::TypedArray to_typed_array(Napi::Env env, HostArray host);

std::vector<int64_t> to_shape(const Napi::Value& value, const char* what);
Napi::Array from_shape(Napi::Env env, const std::vector<int64_t>& shape);

// Options-object readers: missing/undefined keys give the default; wrong types throw.
int option_int(const Napi::Object& options, const char* key, int fallback, int min_value);
std::string option_string(const Napi::Object& options, const char* key, const std::string& fallback);
double option_number(const Napi::Object& options, const char* key, double fallback);  // any finite number
bool option_bool(const Napi::Object& options, const char* key, bool fallback);
std::vector<std::string> option_strings(const Napi::Object& options, const char* key);  // missing: empty
DType option_dtype(const Napi::Object& options, const char* key, DType fallback);
Napi::Object options_arg(const Napi::CallbackInfo& info, size_t index);

// Preference rows from a flat row-major array of numbers (Float64Array or number[]) and m; `what`
// names the argument in errors. The core checks that every row lies on the simplex.
std::vector<std::vector<double>> to_preference_rows(const Napi::Value& values, const Napi::Value& m_value, const char* what);
// The same from an optional option `key` of the form { values, m }: none (empty) when it is
// left out or null; anything else than an object is refused with `what` named.
std::vector<std::vector<double>> option_preference_rows(const Napi::Object& options, const char* key, const char* what);

}  // namespace moalign::napi
