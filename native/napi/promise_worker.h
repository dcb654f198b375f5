// Long native work off the JS thread: runs `work` on libuv's pool, resolves a Promise with
// `to_js(result)`, reports progress events to an optional JS callback, and rejects with the
// mapped error (AbortError when its CancelToken fired). JS values the work reads are kept
// alive (referenced) until it settles.
#pragma once
#include <napi.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/runtime.h"
#include "js_errors.h"

namespace moalign::napi {

struct ProgressEvent {
  double done;
  double total;
};

using ProgressSink = std::function<void(double done, double total)>;

template <typename Result>
class PromiseWorker : public Napi::AsyncProgressQueueWorker<ProgressEvent> {
 public:
  using Work = std::function<Result(const ProgressSink&)>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  static Napi::Promise start(Napi::Env env, Work work, ToJs to_js, Napi::Value on_progress,
                             const std::vector<Napi::Value>& keep_alive = {}) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(to_js), on_progress, keep_alive);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();  // the worker deletes itself after OnOK/OnError
    return promise;
  }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      prepare_worker_thread();  // this pool thread gets libtorch's configured thread count
      result_.emplace(work_([&progress](double done, double total) {
        const ProgressEvent event{done, total};
        progress.Send(&event, 1);
      }));
    } catch (...) {
      error_ = describe_exception(std::current_exception());
    }
  }

  void OnProgress(const ProgressEvent* events, size_t count) override {
    if (on_progress_.IsEmpty()) return;
    Napi::Env env = Env();
    for (size_t i = 0; i < count; ++i) {
      // A throwing progress callback must not take the process down: report and carry on.
      try {
        on_progress_.Call({Napi::Number::New(env, events[i].done), Napi::Number::New(env, events[i].total)});
      } catch (const Napi::Error&) {
        // The callback's own error is the caller's business; the work goes on.
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (error_) {
      deferred_.Reject(to_js_error(env, *error_).Value());
      return;
    }
    try {
      deferred_.Resolve(to_js_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(to_js_error(env, describe_exception(std::current_exception())).Value());
    }
  }

 private:
  PromiseWorker(Napi::Env env, Work work, ToJs to_js, Napi::Value on_progress, const std::vector<Napi::Value>& keep_alive)
      : Napi::AsyncProgressQueueWorker<ProgressEvent>(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        to_js_(std::move(to_js)) {
    if (on_progress.IsFunction()) on_progress_ = Napi::Persistent(on_progress.As<Napi::Function>());
    for (const Napi::Value& v : keep_alive) keep_alive_.push_back(Napi::Persistent(v));
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  ToJs to_js_;
  Napi::FunctionReference on_progress_;
  std::vector<Napi::Reference<Napi::Value>> keep_alive_;
  std::optional<Result> result_;
  std::optional<ErrorDescription> error_;
};

}  // namespace moalign::napi
