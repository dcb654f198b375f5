// The multi-objective core for JS: paretoRanks, hypervolume, hypervolumeContributions,
// hypervolumeBatch and selectParetoHq (Promises, off the JS thread), normalisationBounds, frontMetrics.
// Points arrive as a row-major Float64Array plus m; ts/moo/ converts every other input form.
#include <memory>

#include "addon.h"
#include "cancel_token_wrap.h"
#include "convert.h"
#include "core/moo/front_metrics.h"
#include "core/moo/hypervolume.h"
#include "core/moo/pareto_ranks.h"
#include "core/moo/select_pareto_hq.h"
#include "js_errors.h"
#include "promise_worker.h"

namespace moalign::napi {

namespace {

template <typename T, napi_typedarray_type Type>
std::pair<const T*, std::size_t> typed_view(const Napi::Value& value, const char* what, const char* expected) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != Type)
    throw_type_error(value.Env(), std::string(what) + ": expected a " + expected);
  auto array = value.As<Napi::TypedArrayOf<T>>();
  return {array.Data(), array.ElementLength()};
}

std::size_t positive_count(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) throw_type_error(value.Env(), std::string(what) + ": expected a number");
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v != static_cast<double>(static_cast<std::size_t>(v)))
    throw_invalid(value.Env(), std::string(what) + " must be a non-negative integer");
  return static_cast<std::size_t>(v);
}

// (Float64Array, m) -> Points; the row count must divide evenly.
moo::Points points_arg(const Napi::CallbackInfo& info, std::size_t index, const char* what, std::size_t m_index = 1) {
  auto [data, length] = typed_view<double, napi_float64_array>(info[index], what, "Float64Array");
  const std::size_t m = positive_count(info[m_index], "m");
  if (m == 0) throw_invalid(info.Env(), std::string(what) + ": points need at least one objective (m = 0)");
  if (length % m != 0)
    throw_invalid(info.Env(), std::string(what) + ": " + std::to_string(length) + " values do not make rows of " + std::to_string(m));
  return moo::Points{data, length / m, m};
}

const double* ref_arg(const Napi::Value& value, std::size_t expected, const char* what) {
  auto [data, length] = typed_view<double, napi_float64_array>(value, what, "Float64Array");
  if (length != expected)
    throw_invalid(value.Env(), std::string(what) + " has " + std::to_string(length) + " values; expected " + std::to_string(expected));
  return data;
}

moo::MinimiseMask mask_arg(const Napi::Value& value) {
  if (value.IsUndefined() || value.IsNull()) return {};
  auto [data, length] = typed_view<uint8_t, napi_uint8_array>(value, "minimise", "Uint8Array");
  return moo::MinimiseMask(data, data + length);
}

template <typename T>
Napi::Value to_js(Napi::Env env, std::vector<T>&& values) {
  auto owned = std::make_shared<std::vector<T>>(std::move(values));
  HostArray host;
  host.data = owned->data();
  host.dtype = std::is_same_v<T, double> ? DType::Float64 : DType::Int32;
  host.shape = {static_cast<int64_t>(owned->size())};
  host.owner = owned;
  return to_typed_array(env, std::move(host));
}

// options[key] as an array of numbers (missing: empty). Values are not checked here: the core
// names a non-finite bound together with its objective.
std::vector<double> option_numbers(const Napi::Object& options, const char* key) {
  Napi::Value v = options.Get(key);
  std::vector<double> out;
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw_type_error(options.Env(), std::string(key) + " must be an array of numbers");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) throw_type_error(options.Env(), std::string(key) + "[" + std::to_string(i) + "] is not a number");
    out.push_back(x.As<Napi::Number>().DoubleValue());
  }
  return out;
}

Napi::Array to_js_array(Napi::Env env, const std::vector<double>& values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out.Set(static_cast<uint32_t>(i), values[i]);
  return out;
}

// paretoRanks(points, m, minimise?, stopAfterPoints, maxFronts) -> Int32Array (1-based, 0 = unranked)
Napi::Value pareto_ranks_js(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const moo::Points p = points_arg(info, 0, "points");
    moo::RankOptions opts{positive_count(info[3], "stopAfterPoints"), positive_count(info[4], "maxFronts")};
    return to_js(info.Env(), moo::pareto_ranks(p, mask_arg(info[2]), opts));
  });
}

// hypervolume(points, m, ref, minimise?) -> { hypervolume, dropped }
Napi::Value hypervolume_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const moo::Points p = points_arg(info, 0, "points");
    const moo::HypervolumeResult r = moo::hypervolume(p, ref_arg(info[2], p.m, "ref"), mask_arg(info[3]));
    Napi::Object out = Napi::Object::New(env);
    out.Set("hypervolume", r.hypervolume);
    out.Set("dropped", static_cast<double>(r.dropped));
    return Napi::Value(out);
  });
}

// hypervolumeContributions(points, m, ref, minimise?) -> { contributions: Float64Array, dropped }
Napi::Value contributions_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const moo::Points p = points_arg(info, 0, "points");
    std::size_t dropped = 0;
    std::vector<double> c = moo::hypervolume_contributions(p, ref_arg(info[2], p.m, "ref"), mask_arg(info[3]), &dropped);
    Napi::Object out = Napi::Object::New(env);
    out.Set("contributions", to_js(env, std::move(c)));
    out.Set("dropped", static_cast<double>(dropped));
    return Napi::Value(out);
  });
}

// hypervolumeBatch(points, offsets, m, ref, refPerFront, minimise?, tensorDevice?, cancel?, onProgress?)
//   -> Promise<{ hypervolume: Float64Array, dropped: Int32Array }>
// The typed arrays are read in place while the work runs; they stay referenced until it settles.
Napi::Value hypervolume_batch_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    auto [data, length] = typed_view<double, napi_float64_array>(info[0], "points", "Float64Array");
    auto [offsets, offsets_length] = typed_view<int32_t, napi_int32_array>(info[1], "offsets", "Int32Array");
    moo::FrontBatch batch;
    batch.m = positive_count(info[2], "m");
    if (batch.m == 0) throw_invalid(env, "fronts need at least one objective (m = 0)");
    if (offsets_length == 0) throw_invalid(env, "offsets needs at least one entry (0)");
    if (length % batch.m != 0)
      throw_invalid(env, "points: " + std::to_string(length) + " values do not make rows of " + std::to_string(batch.m));
    batch.data = data;
    batch.rows = length / batch.m;
    batch.offsets = offsets;
    batch.fronts = offsets_length - 1;
    batch.ref_per_front = info[4].ToBoolean();
    batch.ref = ref_arg(info[3], batch.ref_per_front ? batch.fronts * batch.m : batch.m, "ref");
    // On the JS thread: a bad layout rejects before any work is queued. The values are checked
    // by the batch's threads, front by front (no serial pass over all of them first).
    moo::check_batch_layout(batch);
    moo::MinimiseMask mask = mask_arg(info[5]);
    moo::check_mask(mask, batch.m);
    const std::string tensor_device = info[6].IsString() ? info[6].As<Napi::String>().Utf8Value() : "";
    CancelTokenPtr cancel = CancelTokenWrap::from_arg(info.Length() > 7 ? info[7] : env.Undefined());
    Napi::Value on_progress = info.Length() > 8 ? info[8] : env.Undefined();
    return Napi::Value(PromiseWorker<moo::BatchResult>::start(
        env,
        [batch, mask, tensor_device, cancel](const ProgressSink& progress) {
          if (!tensor_device.empty()) return moo::hypervolume_batch_tensor(batch, mask, tensor_device, *cancel);
          return moo::hypervolume_batch(batch, mask, *cancel, progress);
        },
        [](Napi::Env env, moo::BatchResult& r) {
          Napi::Object out = Napi::Object::New(env);
          out.Set("hypervolume", to_js(env, std::move(r.hypervolume)));
          out.Set("dropped", to_js(env, std::move(r.dropped)));
          return Napi::Value(out);
        },
        on_progress, {info[0], info[1], info[3]}));
  });
}

// normalisationBounds(fronts: Float64Array[], m, margin) -> { lo: number[], hi: number[] }
Napi::Value normalisation_bounds_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    if (!info[0].IsArray()) throw_type_error(env, "fronts: expected an array of Float64Array");
    Napi::Array list = info[0].As<Napi::Array>();
    const std::size_t m = positive_count(info[1], "m");
    if (m == 0) throw_invalid(env, "fronts need at least one objective (m = 0)");
    std::vector<moo::Points> fronts;
    for (uint32_t f = 0; f < list.Length(); ++f) {
      auto [data, length] = typed_view<double, napi_float64_array>(list.Get(f), "fronts", "Float64Array");
      if (length % m != 0) throw_invalid(env, "front " + std::to_string(f) + ": " + std::to_string(length) + " values do not make rows of " + std::to_string(m));
      fronts.push_back(moo::Points{data, length / m, m});
    }
    if (!info[2].IsNumber()) throw_type_error(env, "hvMargin: expected a number");
    const moo::Bounds b = moo::normalisation_bounds(fronts, info[2].As<Napi::Number>().DoubleValue());
    Napi::Object out = Napi::Object::New(env);
    out.Set("lo", to_js_array(env, b.lo));
    out.Set("hi", to_js_array(env, b.hi));
    return Napi::Value(out);
  });
}

std::vector<double> number_list(const Napi::Object& options, const char* key) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined() || v.IsNull()) return {};
  auto [data, length] = typed_view<double, napi_float64_array>(v, key, "Float64Array");
  return std::vector<double>(data, data + length);
}

// frontMetrics(points, preferences, m, { normalized, lo?, hi?, ref?, sparsity, spacing })
Napi::Value front_metrics_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const moo::Points p = points_arg(info, 0, "points", 2);
    auto [pref_data, pref_length] = typed_view<double, napi_float64_array>(info[1], "preferences", "Float64Array");
    if (pref_length % p.m != 0)
      throw_invalid(env, "preferences: " + std::to_string(pref_length) + " values do not make rows of " + std::to_string(p.m));
    const moo::Points prefs{pref_data, pref_length / p.m, p.m};
    Napi::Object options = options_arg(info, 3);
    moo::FrontMetricsOptions opts;
    opts.normalized = option_string(options, "space", "normalized") == "normalized";
    opts.bounds.lo = number_list(options, "lo");
    opts.bounds.hi = number_list(options, "hi");
    opts.ref = number_list(options, "ref");
    opts.sparsity = option_string(options, "sparsity", "pgmorl") == "pairwise" ? moo::SparsityVariant::Pairwise : moo::SparsityVariant::Pgmorl;
    opts.spacing = option_string(options, "spacing", "libmoon") == "schott" ? moo::SpacingVariant::Schott : moo::SpacingVariant::Libmoon;
    const moo::FrontMetrics r = moo::front_metrics(p, prefs, opts);
    Napi::Object out = Napi::Object::New(env);
    out.Set("hypervolume", r.hypervolume);
    out.Set("hvDropped", static_cast<double>(r.hv_dropped));
    out.Set("innerProduct", r.inner_product);
    out.Set("sparsity", r.sparsity);
    out.Set("nNondominated", static_cast<double>(r.n_nondominated));
    out.Set("spacing", r.spacing);
    return Napi::Value(out);
  });
}

// selectParetoHq(rewards, m, preferences, { k, lowerQuantile, upperQuantile, lo, hi, distance,
//                 poolMin, layers, objectives }, cancel?)   lo, hi: fixed bounds (m) each, or absent
//   -> Promise<{ lo, hi, preferences, poolMin, layers, candidates, poolShort, fewerThanK,
//                ranks: Int32Array, selections: [{ rows: Int32Array, distances: Float64Array, fronts: Int32Array }] }>
// Options are parsed on the JS thread, the rest is checked in the work (a rejection); the typed
// arrays are read in place while the work runs.
Napi::Value select_pareto_hq_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&] {
    const moo::Points rewards = points_arg(info, 0, "rewards");
    auto [pref_data, pref_length] = typed_view<double, napi_float64_array>(info[2], "preferences", "Float64Array");
    if (pref_length % rewards.m != 0)
      throw_invalid(env, "preferences: " + std::to_string(pref_length) + " values do not make rows of " + std::to_string(rewards.m));
    const moo::Points prefs{pref_data, pref_length / rewards.m, rewards.m};
    Napi::Object options = options_arg(info, 3);
    moo::SelectOptions opts;
    opts.k = static_cast<std::size_t>(option_int(options, "k", 100, 1));
    opts.lower_quantile = option_number(options, "lowerQuantile", 0.0);
    opts.upper_quantile = option_number(options, "upperQuantile", 1.0);
    opts.fixed_lo = option_numbers(options, "lo");
    opts.fixed_hi = option_numbers(options, "hi");
    const std::string distance = option_string(options, "distance", "perpendicular");
    if (distance != "perpendicular" && distance != "angular")
      throw_invalid(env, "distance must be 'perpendicular' or 'angular', got '" + distance + "'");
    opts.distance = distance == "angular" ? moo::RayDistance::Angular : moo::RayDistance::Perpendicular;
    opts.pool_min = static_cast<std::size_t>(option_int(options, "poolMin", 0, 0));
    opts.layers = static_cast<std::size_t>(option_int(options, "layers", 0, 0));
    opts.objective_names = option_strings(options, "objectives");
    CancelTokenPtr cancel = CancelTokenWrap::from_arg(info.Length() > 4 ? info[4] : env.Undefined());
    return Napi::Value(PromiseWorker<moo::Selection>::start(
        env, [rewards, prefs, opts, cancel](const ProgressSink&) { return moo::select_pareto_hq(rewards, prefs, opts, cancel.get()); },
        [](Napi::Env env, moo::Selection& r) {
          Napi::Object out = Napi::Object::New(env);
          out.Set("lo", to_js_array(env, r.lo));
          out.Set("hi", to_js_array(env, r.hi));
          out.Set("preferences", to_js(env, std::move(r.preferences)));
          out.Set("poolMin", static_cast<double>(r.pool_min));
          out.Set("layers", static_cast<double>(r.layers));
          out.Set("candidates", static_cast<double>(r.candidates));
          out.Set("poolShort", r.pool_short);
          out.Set("fewerThanK", r.fewer_than_k);
          out.Set("ranks", to_js(env, std::move(r.ranks)));
          Napi::Array selections = Napi::Array::New(env, r.per_preference.size());
          for (std::size_t p = 0; p < r.per_preference.size(); ++p) {
            moo::PreferenceSelection& s = r.per_preference[p];
            Napi::Object one = Napi::Object::New(env);
            one.Set("rows", to_js(env, std::vector<std::int32_t>(s.rows.begin(), s.rows.end())));
            one.Set("distances", to_js(env, std::move(s.distances)));
            one.Set("fronts", to_js(env, std::move(s.fronts)));
            selections.Set(static_cast<uint32_t>(p), one);
          }
          out.Set("selections", selections);
          return Napi::Value(out);
        },
        env.Undefined(), {info[0], info[2]}));
  });
}

}  // namespace

void register_moo(Napi::Env env, Napi::Object exports) {
  exports.Set("paretoRanks", Napi::Function::New(env, pareto_ranks_js, "paretoRanks"));
  exports.Set("hypervolume", Napi::Function::New(env, hypervolume_js, "hypervolume"));
  exports.Set("hypervolumeContributions", Napi::Function::New(env, contributions_js, "hypervolumeContributions"));
  exports.Set("hypervolumeBatch", Napi::Function::New(env, hypervolume_batch_js, "hypervolumeBatch"));
  exports.Set("normalisationBounds", Napi::Function::New(env, normalisation_bounds_js, "normalisationBounds"));
  exports.Set("frontMetrics", Napi::Function::New(env, front_metrics_js, "frontMetrics"));
  exports.Set("selectParetoHq", Napi::Function::New(env, select_pareto_hq_js, "selectParetoHq"));
}

}  // namespace moalign::napi
