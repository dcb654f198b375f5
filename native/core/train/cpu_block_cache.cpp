#include "core/train/cpu_block_cache.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace moalign::train {

namespace {

constexpr std::size_t kMinBytes = std::size_t{1} << 18;        // 256 KiB: glibc's heap serves smaller blocks well
constexpr std::size_t kMaxCachedBytes = std::size_t{1} << 30;  // 1 GiB of freed blocks kept at most

// n rounded up to 8 classes per power of two: 1,048,577 bytes -> 1,179,648.
std::size_t size_class(std::size_t n) {
  const int top = 63 - __builtin_clzll(n);  // n >= 2^top
  const std::size_t unit = std::size_t{1} << std::max(top - 3, 0);
  return (n + unit - 1) / unit * unit;
}

class BlockCache final : public c10::Allocator {
 public:
  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache();  // intentionally never destroyed: blocks may outlive static destruction
    return *cache;
  }

  // Every block, small ones included, is freed through release(): raw_allocate / raw_deallocate
  // (which some ATen kernels use for scratch) need one deleter for all of an allocator's blocks.
  c10::DataPtr allocate(std::size_t n) override {
    if (n < kMinBytes) {
      void* p = c10::alloc_cpu(n);  // what the default allocator does, minus its profiler reports
      return {p, p, &BlockCache::release, c10::Device(c10::DeviceType::CPU)};
    }
    const std::size_t size = size_class(n);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = free_.find(size); it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
      }
    }
    if (p == nullptr) p = c10::alloc_cpu(size);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_[p] = size;
    }
    return {p, p, &BlockCache::release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &BlockCache::release; }

  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }

  void enter() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (depth_++ > 0) return;
    replaced_ = c10::GetCPUAllocator();
    c10::SetCPUAllocator(this, /*priority=*/0);  // the default allocator's priority: replaced, and restored below
  }

  void leave() {
    std::vector<void*> drop;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--depth_ > 0) return;
      c10::SetCPUAllocator(replaced_, /*priority=*/0);
      for (auto& [size, blocks] : free_) drop.insert(drop.end(), blocks.begin(), blocks.end());
      free_.clear();
      cached_ = 0;
    }
    for (void* p : drop) c10::free_cpu(p);
  }

 private:
  BlockCache() = default;

  static void release(void* p) { instance().give_back(p); }

  void give_back(void* p) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = live_.find(p);
      const std::size_t size = it == live_.end() ? 0 : it->second;  // 0: a small block
      if (size > 0) live_.erase(it);
      if (size > 0 && depth_ > 0 && cached_ + size <= kMaxCachedBytes) {
        free_[size].push_back(p);
        cached_ += size;
        return;
      }
    }
    c10::free_cpu(p);
  }

  std::mutex mutex_;
  int depth_ = 0;
  c10::Allocator* replaced_ = nullptr;                         // libtorch's CPU allocator before the first scope
  std::unordered_map<void*, std::size_t> live_;                // handed out: block -> its size class
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // size class -> freed blocks
  std::size_t cached_ = 0;                                     // bytes in free_
};

}  // namespace

CpuBlockCache::CpuBlockCache() { BlockCache::instance().enter(); }
CpuBlockCache::~CpuBlockCache() { BlockCache::instance().leave(); }

}  // namespace moalign::train
