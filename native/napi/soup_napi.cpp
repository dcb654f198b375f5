// interpolateCheckpoints(dirs, weights, stem, outFile, dtype?): a weighted sum of checkpoints,
// tensor by tensor (core/model/soup.h), run on the compute thread.
#include "addon.h"
#include "core/compute_thread.h"
#include "core/model/soup.h"
#include "js_errors.h"

namespace moalign::napi {

namespace {

Napi::Value interpolate_checkpoints(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const char* usage = "interpolateCheckpoints(dirs, weights, stem, outFile, dtype?)";
    if (!info[0].IsArray() || !info[1].IsArray() || !info[2].IsString() || !info[3].IsString())
      throw_type_error(env, std::string(usage) + ": dirs must be an array of strings, weights an array of numbers, stem and outFile strings");
    const Napi::Array d = info[0].As<Napi::Array>(), w = info[1].As<Napi::Array>();
    std::vector<std::string> dirs;
    std::vector<double> weights;
    for (uint32_t i = 0; i < d.Length(); ++i) {
      if (!d.Get(i).IsString()) throw_type_error(env, std::string(usage) + ": dirs[" + std::to_string(i) + "] is not a string");
      dirs.push_back(d.Get(i).As<Napi::String>().Utf8Value());
    }
    for (uint32_t i = 0; i < w.Length(); ++i) {
      if (!w.Get(i).IsNumber()) throw_type_error(env, std::string(usage) + ": weights[" + std::to_string(i) + "] is not a number");
      weights.push_back(w.Get(i).As<Napi::Number>().DoubleValue());
    }
    const std::string stem = info[2].As<Napi::String>().Utf8Value(), out = info[3].As<Napi::String>().Utf8Value();
    const std::string dtype = info.Length() > 4 && info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
    on_compute_thread([&] { model::interpolate_checkpoints(dirs, weights, stem, out, dtype); });
    return env.Undefined();
  });
}

}  // namespace

void register_soup(Napi::Env env, Napi::Object exports) {
  exports.Set("interpolateCheckpoints", Napi::Function::New<interpolate_checkpoints>(env, "interpolateCheckpoints"));
}

}  // namespace moalign::napi
