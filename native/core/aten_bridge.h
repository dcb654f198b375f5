// For core sources only: the at::Tensor behind moalign::Tensor, and dtype conversions.
// Never include this from native/napi: that layer stays free of libtorch headers.
#pragma once
#include <ATen/core/Tensor.h>

#include "host_array.h"
#include "tensor.h"

namespace moalign {

struct TensorImpl {
  at::Tensor tensor;
};

inline Tensor wrap(at::Tensor t) { return Tensor(std::make_shared<TensorImpl>(TensorImpl{std::move(t)})); }
inline const at::Tensor& aten(const Tensor& t) { return t.impl().tensor; }

at::ScalarType to_scalar_type(DType dtype);
DType from_scalar_type(at::ScalarType type);  // throws InvalidArgument for types JS cannot hold

// A tensor over the caller's memory, no copy; valid only while that memory is.
at::Tensor borrow(const HostArray& src);

}  // namespace moalign
