#include "core/model/soup.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/equal.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "core/errors.h"
#include "core/model/safetensors.h"

namespace moalign::model {

void interpolate_checkpoints(const std::vector<std::string>& dirs, const std::vector<double>& weights, const std::string& stem,
                             const std::string& out_file, const std::string& dtype) {
  if (dirs.empty()) throw InvalidArgument("interpolate_checkpoints: no checkpoints given");
  if (weights.size() != dirs.size())
    throw InvalidArgument("interpolate_checkpoints: " + std::to_string(weights.size()) + " weights for " + std::to_string(dirs.size()) + " checkpoints");
  for (double w : weights)
    if (!std::isfinite(w)) throw InvalidArgument("interpolate_checkpoints: every weight must be finite");
  std::string stored_as;  // safetensors' name of `dtype`
  if (dtype == "float32") stored_as = "F32";
  else if (dtype == "bfloat16") stored_as = "BF16";
  else if (dtype == "float16") stored_as = "F16";
  else if (!dtype.empty()) throw InvalidArgument("interpolate_checkpoints: dtype must be float32, bfloat16 or float16, not " + dtype);
  at::NoGradGuard no_grad;
  std::vector<std::unique_ptr<SafetensorsCheckpoint>> ckpts;
  for (const auto& d : dirs) ckpts.push_back(std::make_unique<SafetensorsCheckpoint>(d, stem));
  const std::vector<std::string> names = ckpts[0]->names();
  for (std::size_t i = 1; i < ckpts.size(); ++i)
    if (ckpts[i]->names() != names) throw InvalidArgument(dirs[i] + " does not hold the tensors of " + dirs[0] + " (their names differ)");

  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& name : names) {
    const at::ScalarType stored = scalar_type_of(ckpts[0]->dtype_of(name), dirs[0] + ": tensor " + name);
    const at::Tensor first = ckpts[0]->tensor(name, stored);
    if (!at::isFloatingType(stored)) {
      for (std::size_t i = 1; i < ckpts.size(); ++i)
        if (!at::equal(ckpts[i]->tensor(name, stored), first)) throw InvalidArgument(dirs[i] + ": integer tensor " + name + " differs from " + dirs[0] + "'s");
      out.emplace_back(name, first);
      continue;
    }
    at::Tensor sum = first.to(at::kFloat) * weights[0];  // a new tensor, never a view of the file
    for (std::size_t i = 1; i < ckpts.size(); ++i) {
      const at::Tensor t = ckpts[i]->tensor(name, at::kFloat);
      if (t.sizes() != sum.sizes()) {
        std::ostringstream msg;
        msg << dirs[i] << ": tensor " << name << " has shape " << t.sizes() << ", " << dirs[0] << "'s has " << sum.sizes();
        throw InvalidArgument(msg.str());
      }
      sum.add_(t, weights[i]);
    }
    out.emplace_back(name, stored_as.empty() ? sum.to(stored) : sum);
  }
  save_safetensors(out_file, out, {{"format", "pt"}}, stored_as);
}

}  // namespace moalign::model
