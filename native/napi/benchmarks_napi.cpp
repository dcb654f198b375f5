// benchmarkMatmul(options, cancel?, onProgress?) -> Promise<MatmulBenchResult> and
// benchmarkBlock(model, x, grad, options, cancel?, onProgress?) -> Promise<BlockBenchResult>, off the JS thread.
#include "addon.h"
#include "cancel_token_wrap.h"
#include "causal_lm_wrap.h"
#include "convert.h"
#include "core/block_bench.h"
#include "core/matmul_bench.h"
#include "js_errors.h"
#include "promise_worker.h"
#include "tensor_wrap.h"

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

// options.variants: [{ name, adapters, preference?: { values, m } }], see core/block_bench.h.
static BlockBenchVariant to_block_variant(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw_type_error(env, "benchmarkBlock: each variant must be { name, adapters, preference? }");
  const Napi::Object o = value.As<Napi::Object>();
  BlockBenchVariant v;
  v.name = option_string(o, "name", "");
  if (v.name.empty()) throw_type_error(env, "benchmarkBlock: a variant needs a name");
  v.adapters = option_bool(o, "adapters", false);
  v.preference = option_preference_rows(o, "preference", "benchmarkBlock: a variant's preference");
  return v;
}

static Napi::Value benchmark_block_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    std::shared_ptr<model::CausalLM> model = CausalLMWrap::shared(info[0], "model");
    const Tensor x = TensorWrap::unwrap(info[1], "x");
    const Tensor grad = TensorWrap::unwrap(info[2], "grad");
    Napi::Object options = options_arg(info, 3);
    BlockBenchOptions opts;
    opts.layer = option_int(options, "layer", 0, 0);
    opts.warmup = option_int(options, "warmup", opts.warmup, 0);
    opts.repeats = option_int(options, "repeats", opts.repeats, 1);
    opts.iterations = option_int(options, "iterations", opts.iterations, 1);
    const Napi::Value variants = options.Get("variants");
    if (!variants.IsArray()) throw_type_error(env, "benchmarkBlock: options.variants must be an array");
    const Napi::Array list = variants.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) opts.variants.push_back(to_block_variant(list.Get(i)));
    CancelTokenPtr cancel = CancelTokenWrap::from_arg(info.Length() > 4 ? info[4] : env.Undefined());
    return Napi::Value(PromiseWorker<BlockBenchResult>::start(
        env, [model, x, grad, opts, cancel](const ProgressSink& progress) { return benchmark_block(*model, x, grad, opts, *cancel, progress); },
        [](Napi::Env env, BlockBenchResult& r) {
          Napi::Array variants = Napi::Array::New(env, r.variants.size());
          for (std::size_t i = 0; i < r.variants.size(); ++i) {
            const BlockBenchVariantResult& v = r.variants[i];
            Napi::Object o = Napi::Object::New(env);
            o.Set("name", v.name);
            Napi::Float64Array ms = Napi::Float64Array::New(env, v.ms.size());
            for (std::size_t k = 0; k < v.ms.size(); ++k) ms[k] = v.ms[k];
            o.Set("ms", ms);
            o.Set("outputSum", Napi::Number::New(env, v.output_sum));
            o.Set("inputGradNorm", Napi::Number::New(env, v.input_grad_norm));
            variants.Set(static_cast<uint32_t>(i), o);
          }
          Napi::Object out = Napi::Object::New(env);
          out.Set("variants", variants);
          out.Set("threads", Napi::Number::New(env, r.threads));
          out.Set("device", r.device);
          return Napi::Value(out);
        },
        info.Length() > 5 ? info[5] : env.Undefined(), {info[0], info[1], info[2]}));
  });
}

void register_benchmarks(Napi::Env env, Napi::Object exports) {
  exports.Set("benchmarkMatmul", Napi::Function::New(env, benchmark_matmul_js, "benchmarkMatmul"));
  exports.Set("benchmarkBlock", Napi::Function::New(env, benchmark_block_js, "benchmarkBlock"));
}

}  // namespace moalign::napi
