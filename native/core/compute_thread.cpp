#include "compute_thread.h"

#include <ATen/Parallel.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace moalign {

struct ComputeThread::State {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> queue;
  std::thread::id id;
};

ComputeThread::ComputeThread() : state_(std::make_shared<State>()) {
  std::promise<std::thread::id> started;
  std::future<std::thread::id> id = started.get_future();
  std::thread([state = state_, started = std::move(started)]() mutable {
    at::init_num_threads();  // this thread's OpenMP team gets libtorch's configured count
    started.set_value(std::this_thread::get_id());
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(state->mutex);
        state->wake.wait(lock, [&] { return !state->queue.empty(); });
        task = std::move(state->queue.front());
        state->queue.pop_front();
      }
      task();
    }
  }).detach();
  state_->id = id.get();
}

ComputeThread& ComputeThread::instance() {
  static ComputeThread* thread = new ComputeThread();  // intentionally never destroyed
  return *thread;
}

void ComputeThread::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->queue.push_back(std::move(task));
  }
  state_->wake.notify_one();
}

bool ComputeThread::on_this_thread() const noexcept { return std::this_thread::get_id() == state_->id; }

}  // namespace moalign
