// buildInfo(), runtimeInfo(), deviceSeconds(), setNumThreads(n), setNumInteropThreads(n).
#include "addon.h"
#include "convert.h"
#include "core/device_time.h"
#include "core/runtime.h"
#include "js_errors.h"

namespace moalign::napi {

static Napi::Value build_info_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const BuildInfo b = build_info();
  Napi::Object out = Napi::Object::New(env);
  out.Set("torchVersion", b.torch_version);
  out.Set("cxx11Abi", Napi::Number::New(env, b.cxx11_abi));
  out.Set("cudaCompiled", Napi::Boolean::New(env, b.cuda_compiled));
  out.Set("compiler", b.compiler);
  out.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return out;
}

static Napi::Value runtime_info_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const RuntimeInfo r = runtime_info();
    Napi::Object out = Napi::Object::New(env);
    out.Set("numThreads", Napi::Number::New(env, r.num_threads));
    out.Set("numInteropThreads", Napi::Number::New(env, r.num_interop_threads));
    out.Set("cudaAvailable", Napi::Boolean::New(env, r.cuda_available));
    Napi::Array devices = Napi::Array::New(env, r.cuda_devices.size());
    for (size_t i = 0; i < r.cuda_devices.size(); ++i) {
      Napi::Object d = Napi::Object::New(env);
      d.Set("index", Napi::Number::New(env, r.cuda_devices[i].index));
      d.Set("name", r.cuda_devices[i].name);
      d.Set("totalMemory", Napi::Number::New(env, static_cast<double>(r.cuda_devices[i].total_memory)));
      devices.Set(static_cast<uint32_t>(i), d);
    }
    out.Set("cudaDevices", devices);
    out.Set("parallelInfo", r.parallel_info);
    return Napi::Value(out);
  });
}

// A process-wide total read without a trip to the compute thread: cheap enough to take around
// every step of a run.
static Napi::Value device_seconds_js(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_seconds()); }

static int positive_int_arg(const Napi::CallbackInfo& info, const char* name) {
  Napi::Object wrapper = Napi::Object::New(info.Env());
  wrapper.Set(name, info.Length() > 0 ? info[0] : info.Env().Undefined());
  if (wrapper.Get(name).IsUndefined()) throw_type_error(info.Env(), std::string(name) + " is required");
  return option_int(wrapper, name, 1, 1);
}

static Napi::Value set_num_threads_js(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    set_num_threads(positive_int_arg(info, "numThreads"));
    return info.Env().Undefined();
  });
}

static Napi::Value set_num_interop_threads_js(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    set_num_interop_threads(positive_int_arg(info, "numInteropThreads"));
    return info.Env().Undefined();
  });
}

void register_runtime(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, build_info_js, "buildInfo"));
  exports.Set("runtimeInfo", Napi::Function::New(env, runtime_info_js, "runtimeInfo"));
  exports.Set("deviceSeconds", Napi::Function::New(env, device_seconds_js, "deviceSeconds"));
  exports.Set("setNumThreads", Napi::Function::New(env, set_num_threads_js, "setNumThreads"));
  exports.Set("setNumInteropThreads", Napi::Function::New(env, set_num_interop_threads_js, "setNumInteropThreads"));
}

}  // namespace moalign::napi
