// benchmarkMatmul(options, cancel?, onProgress?) -> Promise<MatmulBenchResult>, off the JS thread.
#include "addon.h"
#include "cancel_token_wrap.h"
#include "convert.h"
#include "core/matmul_bench.h"
#include "js_errors.h"
#include "promise_worker.h"

namespace moalign::napi {

static Napi::Value benchmark_matmul_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    Napi::Object options = options_arg(info, 0);
    MatmulBenchOptions opts;
    opts.size = option_int(options, "size", opts.size, 1);
    opts.iterations = option_int(options, "iterations", opts.iterations, 1);
    opts.dtype = option_dtype(options, "dtype", opts.dtype);
    opts.device = option_string(options, "device", opts.device);
    CancelTokenPtr cancel = CancelTokenWrap::from_arg(info.Length() > 1 ? info[1] : env.Undefined());
    Napi::Value on_progress = info.Length() > 2 ? info[2] : env.Undefined();
    return Napi::Value(PromiseWorker<MatmulBenchResult>::start(
        env,
        // An empty sink converts to an empty BenchProgress: no callback, no reporting.
        [opts, cancel](const ProgressSink& progress) { return benchmark_matmul(opts, *cancel, progress); },
        [](Napi::Env env, MatmulBenchResult& r) {
          Napi::Object out = Napi::Object::New(env);
          out.Set("iterations", Napi::Number::New(env, r.iterations_done));
          out.Set("seconds", Napi::Number::New(env, r.seconds));
          out.Set("gflops", Napi::Number::New(env, r.gflops));
          out.Set("threads", Napi::Number::New(env, r.threads));
          out.Set("device", r.device);
          return Napi::Value(out);
        },
        on_progress));
  });
}

void register_benchmarks(Napi::Env env, Napi::Object exports) {
  exports.Set("benchmarkMatmul", Napi::Function::New(env, benchmark_matmul_js, "benchmarkMatmul"));
}

}  // namespace moalign::napi
