// SVD-LoRA's CUDA kernel (built only when libtorch has CUDA; see svd_lora_scale_project.cu).
#pragma once
#include <ATen/core/Tensor.h>

namespace moalign::cuda {

// Whether scale_project takes these tensors: y on a CUDA device, in U's dtype (float32 or float64),
// rank r = U's columns at most 128.
bool scale_project_supported(const at::Tensor& y, const at::Tensor& u);

// y (N, out) += (h ⊙ E[row]) U^T in place, h given as h^T (r, N), E (R, r) with R dividing N (token
// n belongs to preference row n / (N / R)), U (out, r).
void scale_project(at::Tensor& y, const at::Tensor& hT, const at::Tensor& E, const at::Tensor& u);

}  // namespace moalign::cuda
