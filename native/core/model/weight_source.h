// Where a model's weights come from: a Hugging Face checkpoint on disk, or a fresh draw for a
// model trained from scratch. The transformer asks for each tensor by its Hugging Face name and
// shape, together with the rule that initialises it, so one loader serves both. Core-internal.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/safetensors.h"

namespace moalign::model {

// How a fresh tensor is drawn (GPT-2's scheme: normal weights, zero biases, unit norm gains).
struct InitRule {
  enum class Kind { Normal, Zeros, Ones } kind = Kind::Normal;
  double std = 0.0;  // Normal only
  static InitRule normal(double std) { return {Kind::Normal, std}; }
  static InitRule zeros() { return {Kind::Zeros, 0.0}; }
  static InitRule ones() { return {Kind::Ones, 0.0}; }
};

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // The tensor `name` of `shape`, as `dtype`. A checkpoint ignores `init`; a fresh source uses it.
  virtual at::Tensor tensor(const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& shape, const InitRule& init) const = 0;
};

// Reads every tensor from a (possibly sharded) safetensors checkpoint; errors name what is missing.
class CheckpointWeights final : public WeightSource {
 public:
  explicit CheckpointWeights(const SafetensorsCheckpoint& checkpoint) : checkpoint_(checkpoint) {}
  at::Tensor tensor(const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& shape, const InitRule&) const override {
    return checkpoint_.tensor(name, dtype, shape);
  }

 private:
  const SafetensorsCheckpoint& checkpoint_;
};

// Draws every tensor from its rule. Each tensor's generator is seeded from (seed, name), so a
// tensor's values depend only on the seed and its name, not on the order tensors are created in.
class FreshWeights final : public WeightSource {
 public:
  explicit FreshWeights(uint64_t seed) : seed_(seed) {}
  at::Tensor tensor(const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& shape, const InitRule& init) const override;

 private:
  uint64_t seed_;
};

}  // namespace moalign::model
