#include "core/device_time.h"

#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <atomic>

namespace moalign {

namespace {

std::atomic<double> total_seconds{0.0};

c10::Stream current_stream(const c10::Device& device) { return c10::impl::VirtualGuardImpl(device.type()).getStream(device); }

}  // namespace

DeviceTimeScope::DeviceTimeScope(const c10::Device& device) : device_(device) {
  if (!device.is_cuda()) return;
  // BACKEND_DEFAULT: an event that keeps time (PyTorch's default event does not).
  start_ = std::make_unique<c10::Event>(device.type(), c10::EventFlag::BACKEND_DEFAULT);
  start_->record(current_stream(device));
}

DeviceTimeScope::~DeviceTimeScope() {
  if (!start_) return;
  try {
    c10::Event end(device_.type(), c10::EventFlag::BACKEND_DEFAULT);
    end.record(current_stream(device_));
    end.synchronize();
    const double seconds = start_->elapsedTime(end) / 1000.0;  // elapsedTime is in milliseconds
    total_seconds.fetch_add(seconds, std::memory_order_relaxed);
  } catch (...) {
    // A failed measurement (a device error already being reported) must not mask that error.
  }
}

double device_seconds() { return total_seconds.load(std::memory_order_relaxed); }

}  // namespace moalign
