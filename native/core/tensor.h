// moalign::Tensor: a handle to a libtorch tensor that callers outside the core can hold
// without including libtorch headers (pimpl). Copies share storage, like at::Tensor.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host_array.h"

namespace moalign {

struct TensorImpl;  // holds the at::Tensor; defined in aten_bridge.h for core sources only

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Owns a copy of `src`: the caller's buffer may change or vanish afterwards.
  static Tensor copy_of(const HostArray& src, bool requires_grad = false);

  // Zero-copy host view: shares storage when the tensor is contiguous on the CPU,
  // otherwise a contiguous CPU copy. The view keeps the storage alive through `owner`.
  HostArray to_host() const;

  std::vector<int64_t> shape() const;
  DType dtype() const;
  std::string device() const;
  bool requires_grad() const;
  bool defined() const noexcept { return impl_ != nullptr; }

  // Autograd-aware ops; enough for the engine's self-test and the doctor.
  Tensor matmul(const Tensor& other) const;  // (..., n, k) @ (..., k, m) -> (..., n, m)
  Tensor mul(const Tensor& other) const;     // elementwise, broadcasting
  Tensor add(const Tensor& other) const;     // elementwise, broadcasting
  Tensor sum() const;                        // () scalar
  void backward() const;                     // d(this)/d(leaves); this must be a scalar
  std::optional<Tensor> grad() const;        // none until a backward reached this leaf

  TensorImpl& impl() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace moalign
