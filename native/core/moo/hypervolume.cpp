// Single fronts, contributions and the CPU batch: validation, the shift to the origin, and the
// dispatch to the kernels of hv_kernels.h.
#include "hypervolume.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <exception>
#include <mutex>
#include <thread>
#include <cmath>
#include <string>

#include "core/errors.h"
#include "hv_kernels.h"

namespace moalign::moo {

namespace {

void check_ref(const double* ref, std::size_t m, const char* what) {
  for (std::size_t i = 0; i < m; ++i)
    if (!std::isfinite(ref[i]))
      throw InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] is not a finite number");
}

// The one path from a validated front to its value: batch and single calls share it, which is
// what makes their results bit-identical.
HypervolumeResult front_hypervolume(Points p, const double* ref, const MinimiseMask& mask, std::vector<double>& q) {
  HypervolumeResult r;
  r.dropped = shift_to_origin(p, ref, mask, q);
  r.hypervolume = hv_shifted(q.data(), p.n - r.dropped, p.m);
  return r;
}

// Batch helper threads, kept between calls: a fresh std::thread per call cost its start-up and
// the new thread's first touch of the kernels' thread-local scratch, every call.
class HelperPool {
 public:
  // Runs task() once on each of `count` helpers; returns at once. Then wait().
  void start(std::size_t count, const std::function<void()>& task) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (threads_.size() < count) threads_.emplace_back([this] { serve(); });
    task_ = &task;
    unclaimed_ = count;
    running_ = count;
    wake_.notify_all();
  }

  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [this] { return running_ == 0; });
    task_ = nullptr;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::vector<std::thread> threads_;  // never joined: the pool lives until the process ends
  const std::function<void()>* task_ = nullptr;
  std::size_t unclaimed_ = 0, running_ = 0;

  void serve() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return unclaimed_ > 0; });
      --unclaimed_;
      const std::function<void()>& task = *task_;
      lock.unlock();
      task();
      lock.lock();
      if (--running_ == 0) finished_.notify_all();
    }
  }
};

// One pool for the process (batches run one at a time, on the compute thread); leaked on
// purpose, so that no exit-time destructor waits on its threads.
HelperPool& helper_pool() {
  static HelperPool* pool = new HelperPool;
  return *pool;
}

}  // namespace

HypervolumeResult hypervolume(Points p, const double* ref, const MinimiseMask& mask) {
  check_points(p, "points");
  check_mask(mask, p.m);
  check_ref(ref, p.m, "ref");
  std::vector<double> q;
  return front_hypervolume(p, ref, mask, q);
}

std::vector<double> hypervolume_contributions(Points p, const double* ref, const MinimiseMask& mask, std::size_t* dropped) {
  check_points(p, "points");
  check_mask(mask, p.m);
  check_ref(ref, p.m, "ref");
  const std::size_t m = p.m;
  std::vector<double> out(p.n, 0.0);
  // Shift row by row, remembering where each kept row came from.
  std::vector<double> q;
  std::vector<std::size_t> source;
  q.reserve(p.n * m);
  std::vector<double> one;
  for (std::size_t i = 0; i < p.n; ++i) {
    if (shift_to_origin(Points{p.row(i), 1, m}, ref, mask, one) == 0) {
      q.insert(q.end(), one.begin(), one.end());
      source.push_back(i);
    }
  }
  if (dropped) *dropped = p.n - source.size();
  const std::size_t n = source.size();
  std::vector<double> limit;
  for (std::size_t i = 0; i < n; ++i) {
    const double* a = q.data() + i * m;
    limit.clear();
    bool covered = false;
    for (std::size_t j = 0; j < n && !covered; ++j) {
      if (j == i) continue;
      const double* b = q.data() + j * m;
      bool weakly = true;
      for (std::size_t c = 0; c < m; ++c) {
        limit.push_back(std::min(a[c], b[c]));
        weakly &= b[c] >= a[c];
      }
      covered = weakly;
    }
    if (covered) continue;
    out[source[i]] = box_volume(a, m) - hv_shifted(limit.data(), limit.size() / m, m);
  }
  return out;
}

void check_batch_layout(const FrontBatch& b) {
  if (b.m == 0) throw InvalidArgument("fronts need at least one objective (m = 0)");
  if (b.offsets == nullptr || b.offsets[0] != 0) throw InvalidArgument("offsets must start at 0");
  for (std::size_t f = 0; f < b.fronts; ++f) {
    if (b.offsets[f + 1] < b.offsets[f]) {
      throw InvalidArgument("offsets must not decrease: offsets[" + std::to_string(f + 1) + "] = " +
                            std::to_string(b.offsets[f + 1]) + " < offsets[" + std::to_string(f) + "] = " +
                            std::to_string(b.offsets[f]));
    }
  }
  if (static_cast<std::size_t>(b.offsets[b.fronts]) != b.rows) {
    throw InvalidArgument("the last offset (" + std::to_string(b.offsets[b.fronts]) + ") must equal the number of rows (" +
                          std::to_string(b.rows) + ")");
  }
  check_ref(b.ref, b.ref_per_front ? b.fronts * b.m : b.m, "ref");
}

void check_batch(const FrontBatch& b) {
  check_batch_layout(b);
  // One pass over all the values; only a batch that holds a bad one looks for the front to name.
  if (!all_finite(b.data, b.rows * b.m)) {
    for (std::size_t f = 0; f < b.fronts; ++f) check_points(b.front(f), "fronts", static_cast<std::ptrdiff_t>(f));
  }
}

BatchResult hypervolume_batch(const FrontBatch& b, const MinimiseMask& mask, const CancelToken& cancel,
                              const BatchProgress& progress) {
  // The values are checked front by front by the threads, just before each front is shifted
  // (while it is in cache), instead of in one serial pass over the whole batch first.
  check_batch_layout(b);
  check_mask(mask, b.m);
  BatchResult out;
  out.hypervolume.assign(b.fronts, 0.0);
  out.dropped.assign(b.fronts, 0);
  // Dynamic scheduling over fronts (they differ in size); each front is computed by one thread
  // with the same code as hypervolume(), so the values do not depend on the thread count.
  // Plain threads (the caller and the pool's helpers), as many as libtorch's intra-op setting,
  // claiming chunks of fronts as they go: at::parallel_for would split the fronts into fixed
  // ranges up front, and one slow range (large fronts, a core taken by another process) would
  // hold up the call.
  std::atomic<std::size_t> next{0}, done{0};
  const std::size_t report_every = std::max<std::size_t>(1, b.fronts / 100);
  std::size_t reported = 0;  // touched by the calling thread only
  std::exception_ptr failure;
  std::mutex failure_mutex;
  std::atomic<std::size_t> first_bad{b.fronts};  // the lowest front seen to hold a non-finite value
  const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, at::get_num_threads())), b.fronts);
  // Threads claim fronts in chunks: one atomic step per chunk instead of per (small) front, and
  // neighbouring results mostly written by one thread. At most 1/16 of a thread's share each
  // (progress and cancellation are seen between chunks), and at the end a quarter of what is
  // left per thread, down to single fronts: with fixed chunks, one thread sat idle for half a
  // chunk on average while the other finished its last one (4-D batch of 1,000 x 100: 1.1%).
  const std::size_t sharers = std::max<std::size_t>(1, threads);  // threads is 0 for an empty batch
  const std::size_t max_chunk = std::max<std::size_t>(1, b.fronts / (16 * sharers));
  const auto claim = [&](std::size_t& first, std::size_t& size) {
    first = next.load(std::memory_order_relaxed);
    do {
      if (first >= b.fronts) return false;
      size = std::clamp<std::size_t>((b.fronts - first) / (4 * sharers), 1, max_chunk);
    } while (!next.compare_exchange_weak(first, first + size));
    return true;
  };
  const auto worker = [&](bool reports) {
    try {
      std::vector<double> q;
      for (std::size_t first, size; claim(first, size);) {
        if (cancel.cancelled()) break;
        const std::size_t last = std::min(first + size, b.fronts);
        for (std::size_t f = first; f < last; ++f) {
          const Points p = b.front(f);
          if (!all_finite(p.data, p.n * p.m)) {
            for (std::size_t seen = first_bad.load(); f < seen && !first_bad.compare_exchange_weak(seen, f);) {
            }
            next.store(b.fronts);  // no more chunks go out; the ones taken are checked to the end
            break;
          }
          const HypervolumeResult r = front_hypervolume(p, b.front_ref(f), mask, q);
          out.hypervolume[f] = r.hypervolume;
          out.dropped[f] = static_cast<std::int32_t>(r.dropped);
        }
        const std::size_t finished = done.fetch_add(last - first) + (last - first);
        if (reports && progress && finished >= reported + report_every) {
          reported = finished;
          progress(static_cast<double>(finished), static_cast<double>(b.fronts));
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next.store(b.fronts);  // the others stop at their next front
    }
  };
  const std::function<void()> helper_task = [&] { worker(false); };
  static std::mutex one_batch_at_a_time;  // the pool serves one batch; other callers queue here
  std::unique_lock<std::mutex> batch_lock(one_batch_at_a_time, std::defer_lock);
  if (threads > 1) {
    batch_lock.lock();
    helper_pool().start(threads - 1, helper_task);
  }
  worker(true);
  if (threads > 1) helper_pool().wait();
  if (failure) std::rethrow_exception(failure);
  // Chunks go out in order and a thread checks every front of its chunk up to a bad one, so the
  // lowest bad front found is the batch's first: the error names it whatever the thread count.
  if (const std::size_t bad = first_bad.load(); bad < b.fronts) check_points(b.front(bad), "fronts", static_cast<std::ptrdiff_t>(bad));
  cancel.throw_if_cancelled();
  if (progress) progress(static_cast<double>(b.fronts), static_cast<double>(b.fronts));
  return out;
}

}  // namespace moalign::moo
