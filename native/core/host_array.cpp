#include "host_array.h"

#include <sstream>

#include "errors.h"

namespace moalign {

const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
  }
  return "unknown";
}

std::size_t dtype_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
  }
  return 0;
}

int64_t HostArray::numel() const noexcept {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

HostArray HostArray::over(void* data, int64_t length, DType dtype, std::vector<int64_t> shape, const char* what) {
  check_shape(shape, length, what);
  if (length > 0 && data == nullptr) throw InvalidArgument(std::string(what) + ": data is null");
  return HostArray{data, dtype, std::move(shape), nullptr};
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

void check_shape(const std::vector<int64_t>& shape, int64_t numel, const char* what) {
  int64_t product = 1;
  for (int64_t d : shape) {
    if (d < 0) throw InvalidArgument(std::string(what) + ": shape " + shape_string(shape) + " has a negative dimension");
    product *= d;
  }
  if (product != numel) {
    throw InvalidArgument(std::string(what) + ": shape " + shape_string(shape) + " needs " + std::to_string(product) +
                          " elements, the data has " + std::to_string(numel));
  }
}

}  // namespace moalign
