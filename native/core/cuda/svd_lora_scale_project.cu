// SVD-LoRA's scale-and-project step on a CUDA device, in one kernel (panacea.md §4): with the
// rank-r intermediate h^T = V^T x^T (r, N) from cuBLAS,
//   y[n, o] += Σ_j h[n, j] · E[row(n), j] · U[o, j]        E = c · diag(σ, s λ_row)   (R, r)
// added into the frozen projection's output y (N, out) in place. g = h ⊙ E is never written to
// memory (backward forms it again from h and E), and the tokens' preference rows (one λ for the
// batch, or one per batch row: row(n) = n / tokens_per_row) cost nothing extra.
//
// Each block takes TOKENS tokens and 32 output columns. It first forms those tokens' g rows in
// shared memory (each h element read once), then each thread adds the r-term dot product of one
// column's U row with each token's g row; consecutive threads write consecutive columns of y.
#include "core/cuda/svd_lora_cuda.h"

#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>

namespace moalign::cuda {

namespace {

constexpr int kColumns = 32;  // output columns per block (one warp across)
constexpr int kRowsY = 8;     // thread rows per block
constexpr int kTokens = 32;   // tokens per block
constexpr int64_t kMaxRank = 128;

template <typename scalar_t>
__global__ void scale_project_kernel(scalar_t* __restrict__ y, const scalar_t* __restrict__ hT, const scalar_t* __restrict__ E,
                                     const scalar_t* __restrict__ U, int64_t N, int64_t out, int64_t r, int64_t tokens_per_row) {
  extern __shared__ unsigned char shared_bytes[];
  scalar_t* g = reinterpret_cast<scalar_t*>(shared_bytes);  // (kTokens, r): this block's g = h ⊙ E
  const int64_t n0 = static_cast<int64_t>(blockIdx.y) * kTokens;
  const int thread = threadIdx.y * blockDim.x + threadIdx.x;
  for (int64_t i = thread; i < kTokens * r; i += blockDim.x * blockDim.y) {
    const int64_t t = i / r, j = i % r, n = n0 + t;
    g[i] = n < N ? hT[j * N + n] * E[(n / tokens_per_row) * r + j] : scalar_t(0);
  }
  __syncthreads();
  const int64_t o = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  if (o >= out) return;
  const scalar_t* u = U + o * r;
  for (int64_t t = threadIdx.y; t < kTokens && n0 + t < N; t += kRowsY) {
    scalar_t sum = 0;
    for (int64_t j = 0; j < r; ++j) sum += g[t * r + j] * u[j];
    y[(n0 + t) * out + o] += sum;
  }
}

}  // namespace

bool scale_project_supported(const at::Tensor& y, const at::Tensor& u) {
  const auto t = u.scalar_type();
  // r <= kMaxRank keeps a block's g rows (kTokens x r) within the 48 KB of shared memory any launch gets
  return y.is_cuda() && y.scalar_type() == t && (t == at::kFloat || t == at::kDouble) && u.size(1) <= kMaxRank;
}

void scale_project(at::Tensor& y, const at::Tensor& hT, const at::Tensor& E, const at::Tensor& u) {
  const int64_t N = y.size(0), out = y.size(1), r = u.size(1), R = E.size(0);
  TORCH_CHECK(scale_project_supported(y, u) && y.is_contiguous(), "scale_project: y must be a contiguous CUDA tensor of U's dtype (float32 or float64)");
  TORCH_CHECK(hT.sizes() == at::IntArrayRef({r, N}) && E.size(1) == r && N % R == 0 && u.size(0) == out, "scale_project: shapes do not agree");
  const at::Tensor h = hT.contiguous(), e = E.contiguous(), U = u.contiguous();
  if (N == 0 || out == 0) return;
  const dim3 block(kColumns, kRowsY);
  const dim3 grid(static_cast<unsigned>((out + kColumns - 1) / kColumns), static_cast<unsigned>((N + kTokens - 1) / kTokens));
  AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "svd_lora_scale_project", [&] {
    const size_t shared = static_cast<size_t>(kTokens * r) * sizeof(scalar_t);
    scale_project_kernel<scalar_t><<<grid, block, shared, c10::cuda::getCurrentCUDAStream()>>>(
        y.data_ptr<scalar_t>(), h.data_ptr<scalar_t>(), e.data_ptr<scalar_t>(), U.data_ptr<scalar_t>(), N, out, r, N / R);
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace moalign::cuda
