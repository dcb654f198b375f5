// A dense, row-major buffer in host memory described without libtorch types: how tensors
// cross the boundary to JS typed arrays. `owner` keeps the memory alive (a tensor's storage
// when it comes out of the core, nothing when it borrows a caller's buffer).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moalign {

enum class DType { Float32, Float64, Int32, Int64 };

const char* dtype_name(DType dtype) noexcept;
std::size_t dtype_size(DType dtype) noexcept;

struct HostArray {
  void* data = nullptr;
  DType dtype = DType::Float32;
  std::vector<int64_t> shape;
  std::shared_ptr<const void> owner;

  // Describes `length` elements at `data` as `shape`; throws InvalidArgument when they disagree.
  static HostArray over(void* data, int64_t length, DType dtype, std::vector<int64_t> shape, const char* what = "tensor");

  int64_t numel() const noexcept;
  std::size_t nbytes() const noexcept { return static_cast<std::size_t>(numel()) * dtype_size(dtype); }
};

// Throws InvalidArgument unless every dimension is >= 0 and their product equals `numel`.
void check_shape(const std::vector<int64_t>& shape, int64_t numel, const char* what);

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace moalign
