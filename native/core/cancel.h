// Cooperative cancellation for long native work. The JS thread sets the flag (AbortSignal);
// the worker polls it between steps and throws Cancelled, so nothing is killed mid-write.
#pragma once
#include <atomic>
#include <memory>

#include "errors.h"

namespace moalign {

class CancelToken {
 public:
  void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }
  void throw_if_cancelled() const {
    if (cancelled()) throw Cancelled();
  }

 private:
  std::atomic<bool> cancelled_{false};
};

using CancelTokenPtr = std::shared_ptr<CancelToken>;

}  // namespace moalign
