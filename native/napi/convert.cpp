#include "convert.h"

#include <cmath>

#include "js_errors.h"

namespace moalign::napi {

static DType dtype_of(Napi::Env env, napi_typedarray_type type, const char* what) {
  switch (type) {
    case napi_float32_array: return DType::Float32;
    case napi_float64_array: return DType::Float64;
    case napi_int32_array: return DType::Int32;
    case napi_bigint64_array: return DType::Int64;
    default:
      throw_type_error(env, std::string(what) + ": unsupported typed array; expected Float32Array, Float64Array, Int32Array or BigInt64Array");
  }
}

HostArray borrow_typed_array(const Napi::Value& value, const Napi::Value& shape, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray()) throw_type_error(env, std::string(what) + ": expected a typed array");
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  const DType dtype = dtype_of(env, array.TypedArrayType(), what);
  auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data());
  return HostArray::over(base ? base + array.ByteOffset() : nullptr, static_cast<int64_t>(array.ElementLength()), dtype,
                         to_shape(shape, what), what);
}

template <typename T>
static Napi::TypedArray typed(Napi::Env env, size_t length, Napi::ArrayBuffer buffer) {
  return Napi::TypedArrayOf<T>::New(env, length, buffer, 0);
}

Napi::TypedArray to_typed_array(Napi::Env env, HostArray host) {
  const size_t length = static_cast<size_t>(host.numel());
  const DType dtype = host.dtype;
  Napi::ArrayBuffer buffer;
  if (host.nbytes() == 0) {
    buffer = Napi::ArrayBuffer::New(env, 0);
  } else {
    auto* keep = new HostArray(std::move(host));
    buffer = Napi::ArrayBuffer::New(env, keep->data, keep->nbytes(), [](Napi::Env, void*, HostArray* h) { delete h; }, keep);
  }
  switch (dtype) {
    case DType::Float32: return typed<float>(env, length, buffer);
    case DType::Float64: return typed<double>(env, length, buffer);
    case DType::Int32: return typed<int32_t>(env, length, buffer);
    case DType::Int64: return typed<int64_t>(env, length, buffer);
  }
  throw_invalid(env, "unknown dtype");
}

std::vector<int64_t> to_shape(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) throw_type_error(env, std::string(what) + ": shape must be an array of non-negative integers");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> shape(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value d = array.Get(i);
    const double x = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1;
    if (!(x >= 0) || std::floor(x) != x || x > 9007199254740991.0) {
      throw_type_error(env, std::string(what) + ": shape must be an array of non-negative integers, got " +
                                d.ToString().Utf8Value() + " at index " + std::to_string(i));
    }
    shape[i] = static_cast<int64_t>(x);
  }
  return shape;
}

Napi::Array from_shape(Napi::Env env, const std::vector<int64_t>& shape) {
  Napi::Array out = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(shape[i])));
  return out;
}

Napi::Object options_arg(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[index].IsObject()) throw_type_error(info.Env(), "options must be an object");
  return info[index].As<Napi::Object>();
}

int option_int(const Napi::Object& options, const char* key, int fallback, int min_value) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::nan("");
  if (!(x >= min_value) || std::floor(x) != x || x > 2147483647.0) {
    throw_invalid(options.Env(), std::string(key) + " must be an integer >= " + std::to_string(min_value) + ", got " + v.ToString().Utf8Value());
  }
  return static_cast<int>(x);
}

std::string option_string(const Napi::Object& options, const char* key, const std::string& fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw_type_error(options.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

double option_number(const Napi::Object& options, const char* key, double fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) throw_type_error(options.Env(), std::string(key) + " must be a finite number");
  return v.As<Napi::Number>().DoubleValue();
}

bool option_bool(const Napi::Object& options, const char* key, bool fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw_type_error(options.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::vector<std::string> option_strings(const Napi::Object& options, const char* key) {
  Napi::Value v = options.Get(key);
  std::vector<std::string> out;
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw_type_error(options.Env(), std::string(key) + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value s = a.Get(i);
    if (!s.IsString()) throw_type_error(options.Env(), std::string(key) + " must be an array of strings");
    out.push_back(s.As<Napi::String>().Utf8Value());
  }
  return out;
}

DType option_dtype(const Napi::Object& options, const char* key, DType fallback) {
  const std::string name = option_string(options, key, "");
  if (name.empty()) return fallback;
  for (DType d : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
    if (name == dtype_name(d)) return d;
  }
  throw_invalid(options.Env(), std::string(key) + " must be one of float32, float64, int32, int64; got " + name);
}

std::vector<std::vector<double>> to_preference_rows(const Napi::Value& values, const Napi::Value& m_value, const char* what) {
  Napi::Env env = values.Env();
  const double md = m_value.IsNumber() ? m_value.As<Napi::Number>().DoubleValue() : 0;
  if (!(md >= 1) || md != static_cast<double>(static_cast<int64_t>(md))) throw_type_error(env, std::string(what) + ": m must be an integer >= 1");
  const auto m = static_cast<std::size_t>(md);
  std::vector<double> flat;
  if (values.IsTypedArray() && values.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array) {
    const Napi::Float64Array a = values.As<Napi::Float64Array>();
    flat.assign(a.Data(), a.Data() + a.ElementLength());
  } else if (values.IsArray()) {
    const Napi::Array a = values.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      const Napi::Value v = a.Get(i);
      if (!v.IsNumber()) throw_type_error(env, std::string(what) + ": values must be numbers");
      flat.push_back(v.As<Napi::Number>().DoubleValue());
    }
  } else {
    throw_type_error(env, std::string(what) + ": values must be a Float64Array or an array of numbers");
  }
  if (flat.empty() || flat.size() % m != 0)
    throw_invalid(env, std::string(what) + ": " + std::to_string(flat.size()) + " values are not whole rows of m = " + std::to_string(m));
  std::vector<std::vector<double>> rows;
  for (std::size_t i = 0; i < flat.size(); i += m) rows.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(i), flat.begin() + static_cast<std::ptrdiff_t>(i + m));
  return rows;
}

std::vector<std::vector<double>> option_preference_rows(const Napi::Object& options, const char* key, const char* what) {
  const Napi::Value v = options.Get(key);
  if (v.IsUndefined() || v.IsNull()) return {};
  if (!v.IsObject()) throw_type_error(options.Env(), std::string(what) + " must be { values, m }");
  const Napi::Object o = v.As<Napi::Object>();
  return to_preference_rows(o.Get("values"), o.Get("m"), what);
}

}  // namespace moalign::napi
