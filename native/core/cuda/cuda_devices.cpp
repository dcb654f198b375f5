// Built only when libtorch has CUDA (CMake adds MOALIGN_WITH_CUDA and this folder's sources).
#ifdef MOALIGN_WITH_CUDA
// c10's device count and the CUDA runtime's properties: not ATen/cuda/CUDAContext(Light).h, which
// brings in cuBLAS', cuSPARSE's and cuSOLVER's headers for nothing used here.
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>

#include "../runtime.h"

namespace moalign {

std::vector<CudaDevice> list_cuda_devices() {
  std::vector<CudaDevice> devices;
  const int count = static_cast<int>(c10::cuda::device_count());
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    C10_CUDA_CHECK(cudaGetDeviceProperties(&prop, i));
    devices.push_back({i, prop.name, static_cast<long long>(prop.totalGlobalMem)});
  }
  return devices;
}

}  // namespace moalign
#endif
