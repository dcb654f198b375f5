// SVD-LoRA's fused layer (svd_lora.cpp) on the CPU in float32: the rank-r products through the
// kernels of low_rank_kernels.h instead of BLAS, the tokens split into one chunk per thread.
// Core-internal.
//
// Notation as in svd_lora.cpp: x̃ (N, in) the adapter's input, h = x̃ V (N, r), E (R, r) the
// scaled diagonal per preference row (token t belongs to row t / (N / R)), g = h ⊙ E, y (N, out)
// the output, G (N, out) its gradient, q = G U, dh = q ⊙ E.
#pragma once
#include <ATen/core/Tensor.h>

namespace moalign::adapters {

// Whether the kernels take this layer: x, the frozen weight (and bias) and U, V float32 on the
// CPU, rank r at most low_rank::kMaxRank. Otherwise the layer runs on libtorch's products.
bool svd_lora_cpu_supported(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& u, const at::Tensor& v);

// A factor F (K, r) as the kernels take it: Fᵀ (r, padded(K)), zeros past K.
at::Tensor kernel_factor(const at::Tensor& f);

struct SvdLoraCpuForward {
  at::Tensor y;  // (N, out) = x W0ᵀ + b + g Uᵀ
  at::Tensor h;  // (N, r) = x̃ V, kept for backward
};

// xb (N, in) the input, w (in, out) the frozen weight as a right factor, bias (out) or undefined;
// xa = x̃ (N, in) contiguous, E (R, r), vt and ut: V and U as kernel_factor gives them.
SvdLoraCpuForward svd_lora_cpu_forward(const at::Tensor& xb, const at::Tensor& w, const at::Tensor& bias, const at::Tensor& xa, const at::Tensor& E,
                                       const at::Tensor& vt, const at::Tensor& ut);

// The adapter's gradients; each is undefined unless asked for.
struct SvdLoraCpuGradients {
  at::Tensor du;  // (out, r) = Gᵀ g
  at::Tensor dv;  // (in, r)  = x̃ᵀ dh
  at::Tensor dE;  // (R, r): Σ over each row's tokens of q ⊙ h
};

// G (N, out) contiguous; xa (N, in) contiguous, needed only for dv; h (N, r) from the forward.
// dx (N, in), when defined, gets (dh Vᵀ) ⊙ keep added in place (keep (N, in) contiguous, or
// undefined for none). Chunk sums are added in chunk order: the same thread count gives the same
// bits.
SvdLoraCpuGradients svd_lora_cpu_backward(const at::Tensor& G, const at::Tensor& xa, const at::Tensor& h, const at::Tensor& E, const at::Tensor& vt,
                                          const at::Tensor& ut, at::Tensor& dx, const at::Tensor& keep, bool want_du, bool want_dv, bool want_dE);

}  // namespace moalign::adapters
