#include "core/model/weight_source.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>

namespace moalign::model {

namespace {

// FNV-1a: a stable 64-bit hash of the tensor name (std::hash may differ between builds).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

at::Tensor FreshWeights::tensor(const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& shape, const InitRule& init) const {
  const auto options = at::TensorOptions().dtype(at::kFloat);
  at::Tensor t;
  switch (init.kind) {
    case InitRule::Kind::Zeros: t = at::zeros(shape, options); break;
    case InitRule::Kind::Ones: t = at::ones(shape, options); break;
    case InitRule::Kind::Normal: {
      // Drawn in float32 on the CPU, then cast: the values do not depend on dtype or device.
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed_ ^ fnv1a(name));
      t = at::empty(shape, options);
      t.normal_(0.0, init.std, gen);
      break;
    }
  }
  return t.to(dtype);
}

}  // namespace moalign::model
