// All libtorch compute in the process runs on one long-lived thread.
// Why: OpenMP's thread count and thread team belong to the calling thread. Work arriving on the
// JS thread and on libuv's pool made one libgomp team per caller, and libgomp throttles
// spin-waiting once it manages more threads than there are CPUs: on 2 cores, 128x128 products
// ran 3-5x slower on a second thread than on the first (bench/RESULTS.md). One thread, one team.
#pragma once
#include <functional>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

namespace moalign {

class ComputeThread {
 public:
  // The process-wide instance; started on first use and never stopped (it outlives static
  // destructors by design: joining at exit could wait on a long job).
  static ComputeThread& instance();

  // Queues `task` to run after everything queued before it. Exceptions must not escape it.
  void post(std::function<void()> task);
  bool on_this_thread() const noexcept;

  // Runs `f` on the compute thread and returns its result (or rethrows its exception).
  // Called from the compute thread itself, runs inline, so core functions can nest.
  template <typename F>
  auto run(F&& f) -> std::invoke_result_t<F&> {
    if (on_this_thread()) return f();
    using R = std::invoke_result_t<F&>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> result = task->get_future();
    post([task] { (*task)(); });
    return result.get();
  }

 private:
  ComputeThread();
  struct State;
  std::shared_ptr<State> state_;
};

template <typename F>
auto on_compute_thread(F&& f) {
  return ComputeThread::instance().run(std::forward<F>(f));
}

}  // namespace moalign
