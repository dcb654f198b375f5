// Weight-space averages of checkpoints ("model soups", Wortsman et al. 2022; Rewarded Soups,
// Ramé et al. 2023): theta = sum_i w_i theta_i, tensor by tensor, over checkpoints that share
// their tensor names and shapes (fine-tunes of one initial model). The LoRA path, W0 + sum_i w_i
// dW_i, is CausalLM::merge_lora_from; this one averages whatever the files hold, so it serves
// full fine-tunes (stem "model") and factor-wise averages of adapters (stem "adapter_model").
#pragma once
#include <string>
#include <vector>

namespace moalign::model {

// Reads `<dir>/<stem>.safetensors` (or its shards) of every folder in `dirs` and writes
// sum_i weights[i] * tensor_i to `out_file` (one file, atomically). Float tensors are summed in
// float32 and stored as `dtype` ("float32", "bfloat16", "float16"; "" keeps each tensor's dtype
// in the first checkpoint); other tensors (integer buffers) must be equal in every checkpoint and are copied.
// Throws, writing nothing, when the checkpoints differ in names, shapes or integer contents.
// Memory: the float32 sum of every tensor is held until the file is written (one model's worth).
void interpolate_checkpoints(const std::vector<std::string>& dirs, const std::vector<double>& weights, const std::string& stem,
                             const std::string& out_file, const std::string& dtype = "");

}  // namespace moalign::model
