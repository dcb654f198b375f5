#include "tensor.h"

#include <ATen/ops/from_blob.h>

#include "aten_bridge.h"
#include "compute_thread.h"
#include "errors.h"

namespace moalign {

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return at::kFloat;
    case DType::Float64: return at::kDouble;
    case DType::Int32: return at::kInt;
    case DType::Int64: return at::kLong;
  }
  throw InvalidArgument("unknown dtype");
}

DType from_scalar_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return DType::Float32;
    case at::kDouble: return DType::Float64;
    case at::kInt: return DType::Int32;
    case at::kLong: return DType::Int64;
    default: throw InvalidArgument(std::string("dtype ") + c10::toString(type) + " has no JS typed array; convert it first");
  }
}

at::Tensor borrow(const HostArray& src) {
  return at::from_blob(src.data, src.shape, at::TensorOptions().dtype(to_scalar_type(src.dtype)));
}

Tensor Tensor::copy_of(const HostArray& src, bool requires_grad) {
  if (requires_grad && src.dtype != DType::Float32 && src.dtype != DType::Float64) {
    throw InvalidArgument(std::string("requiresGrad needs a floating-point tensor, got ") + dtype_name(src.dtype));
  }
  auto copy = [&] {
    at::Tensor t = borrow(src).clone();
    if (requires_grad) t.requires_grad_(true);
    return wrap(std::move(t));
  };
  // ATen parallelises a copy only above its grain size (at::internal::GRAIN_SIZE in
  // ATen/TensorIterator.h, a heavy header); a smaller copy is cheaper than a thread hop.
  constexpr int64_t kAtenGrainSize = 32768;
  return src.numel() < kAtenGrainSize ? copy() : on_compute_thread(copy);
}

TensorImpl& Tensor::impl() const {
  if (!impl_) throw InvalidArgument("tensor is empty (disposed or never set)");
  return *impl_;
}

HostArray Tensor::to_host() const {
  // detach: a JS view must not keep an autograd graph alive. A contiguous CPU tensor is viewed
  // as it is; anything else needs a copy, which is compute.
  const at::Tensor& self = aten(*this);
  at::Tensor t = self.is_cpu() && self.is_contiguous() ? self.detach()
                                                       : on_compute_thread([&] { return self.detach().to(at::kCPU).contiguous(); });
  HostArray out;
  out.dtype = from_scalar_type(t.scalar_type());
  out.shape = t.sizes().vec();
  out.data = t.data_ptr();
  out.owner = std::make_shared<at::Tensor>(std::move(t));
  return out;
}

std::vector<int64_t> Tensor::shape() const { return aten(*this).sizes().vec(); }
DType Tensor::dtype() const { return from_scalar_type(aten(*this).scalar_type()); }
std::string Tensor::device() const { return aten(*this).device().str(); }
bool Tensor::requires_grad() const { return aten(*this).requires_grad(); }

Tensor Tensor::matmul(const Tensor& other) const {
  return on_compute_thread([&] { return wrap(aten(*this).matmul(aten(other))); });
}
Tensor Tensor::mul(const Tensor& other) const {
  return on_compute_thread([&] { return wrap(aten(*this).mul(aten(other))); });
}
Tensor Tensor::add(const Tensor& other) const {
  return on_compute_thread([&] { return wrap(aten(*this).add(aten(other))); });
}
Tensor Tensor::sum() const {
  return on_compute_thread([&] { return wrap(aten(*this).sum()); });
}

void Tensor::backward() const {
  const at::Tensor& t = aten(*this);
  if (t.numel() != 1) throw InvalidArgument("backward() needs a scalar, got shape " + shape_string(t.sizes().vec()));
  if (!t.requires_grad()) throw InvalidArgument("backward(): this tensor does not depend on any tensor with requiresGrad");
  on_compute_thread([&] { t.backward(); });
}

std::optional<Tensor> Tensor::grad() const {
  const at::Tensor& g = aten(*this).grad();
  if (!g.defined()) return std::nullopt;
  return wrap(g);
}

}  // namespace moalign
