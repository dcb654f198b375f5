// Long native work off the JS thread: `work` runs on the core's compute thread (never on the
// JS thread or libuv's pool, see core/compute_thread.h), progress events and the result come
// back through a thread-safe function, and the Promise resolves with `to_js(result)` or rejects
// with the mapped error (AbortError when its CancelToken fired). JS values the work reads stay
// referenced until it settles.
#pragma once
#include <napi.h>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "core/compute_thread.h"
#include "core/errors.h"
#include "js_errors.h"

namespace moalign::napi {

// Empty when the caller passed no progress callback: work should then skip reporting.
using ProgressSink = std::function<void(double done, double total)>;
// The same, for work that reports several numbers at a time: the JS callback gets them as arguments.
using ValuesSink = std::function<void(std::vector<double> values)>;

template <typename Result>
class PromiseWorker {
 public:
  using Work = std::function<Result(const ProgressSink&)>;
  using ValuesWork = std::function<Result(const ValuesSink&)>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  static Napi::Promise start(Napi::Env env, Work work, ToJs to_js, Napi::Value on_progress,
                             const std::vector<Napi::Value>& keep_alive = {}) {
    return start_reporting(
        env,
        [work = std::move(work)](const ValuesSink& values) {
          ProgressSink sink;
          if (values) sink = [&values](double done, double total) { values({done, total}); };
          return work(sink);
        },
        std::move(to_js), on_progress, keep_alive);
  }

  static Napi::Promise start_reporting(Napi::Env env, ValuesWork work, ToJs to_js, Napi::Value on_progress,
                                       const std::vector<Napi::Value>& keep_alive = {}) {
    auto* job = new Job{Napi::Promise::Deferred::New(env), std::move(to_js), {}, {}, std::nullopt, std::nullopt};
    if (on_progress.IsFunction()) job->on_progress = Napi::Persistent(on_progress.As<Napi::Function>());
    for (const Napi::Value& v : keep_alive) job->keep_alive.push_back(Napi::Persistent(v));
    Napi::Promise promise = job->deferred.Promise();
    // Unbounded queue, one producer (the compute thread); the finalizer frees the job on the JS thread.
    Channel channel = Channel::New(env, "moalign", 0, 1, job, [](Napi::Env, void*, Job* j) { delete j; });
    const bool reports = !job->on_progress.IsEmpty();
    ComputeThread::instance().post([channel, job, reports, work = std::move(work)]() mutable {
      ValuesSink sink;
      if (reports) sink = [&channel](std::vector<double> values) { channel.NonBlockingCall(new Message{false, std::move(values)}); };
      try {
        job->result.emplace(work(sink));
      } catch (...) {
        job->error = describe_exception(std::current_exception());
      }
      channel.BlockingCall(new Message{true, {}});
      channel.Release();
    });
    return promise;
  }

 private:
  struct Job {
    Napi::Promise::Deferred deferred;
    ToJs to_js;
    Napi::FunctionReference on_progress;
    std::vector<Napi::Reference<Napi::Value>> keep_alive;
    std::optional<Result> result;  // written on the compute thread before the final message
    std::optional<ErrorDescription> error;
  };
  struct Message {
    bool done;
    std::vector<double> values;
  };

  // Runs on the JS thread for each message.
  static void deliver(Napi::Env env, Napi::Function, Job* job, Message* message) {
    std::unique_ptr<Message> owned(message);
    if (env == nullptr) return;  // the JS context is shutting down
    if (!message->done) {
      // The callback's own error is the caller's business; the work goes on.
      try {
        std::vector<napi_value> args;
        for (double v : message->values) args.push_back(Napi::Number::New(env, v));
        job->on_progress.Call(args);
      } catch (const Napi::Error&) {
      }
      return;
    }
    if (job->error) {
      job->deferred.Reject(to_js_error(env, *job->error).Value());
      return;
    }
    try {
      job->deferred.Resolve(job->to_js(env, *job->result));
    } catch (const Napi::Error& e) {
      job->deferred.Reject(e.Value());
    } catch (...) {
      job->deferred.Reject(to_js_error(env, describe_exception(std::current_exception())).Value());
    }
  }

  using Channel = Napi::TypedThreadSafeFunction<Job, Message, &PromiseWorker::deliver>;
};

}  // namespace moalign::napi
