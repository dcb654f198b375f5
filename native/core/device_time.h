// GPU time: how long work kept a CUDA device busy, summed over the process, so that each method's
// run can report its GPU seconds next to its wall-clock and CPU seconds. A scope's span is taken
// on the device itself (two timing events on the current stream, from its first to its last
// queued kernel, idle gaps inside included), not on the host. Work on the CPU adds nothing.
#pragma once
#include <c10/core/Device.h>

#include <memory>

namespace c10 {
struct Event;
}

namespace moalign {

class DeviceTimeScope {
 public:
  // A no-op unless `device` is a CUDA device.
  explicit DeviceTimeScope(const c10::Device& device);
  // Waits for the scope's work on the stream and adds its span to the total; never throws.
  ~DeviceTimeScope();
  DeviceTimeScope(const DeviceTimeScope&) = delete;
  DeviceTimeScope& operator=(const DeviceTimeScope&) = delete;

 private:
  c10::Device device_;
  std::unique_ptr<c10::Event> start_;
};

// Seconds of device time recorded by every DeviceTimeScope of this process so far (0 on a machine
// that never ran work on a GPU).
double device_seconds();

}  // namespace moalign
