// Built only when libtorch has CUDA (CMake adds MOALIGN_WITH_CUDA and this folder's sources).
#ifdef MOALIGN_WITH_CUDA
#include <ATen/cuda/CUDAContextLight.h>  // getDeviceProperties without the operator headers

#include "../runtime.h"

namespace moalign {

std::vector<CudaDevice> list_cuda_devices() {
  std::vector<CudaDevice> devices;
  const int count = static_cast<int>(at::cuda::getNumGPUs());
  for (int i = 0; i < count; ++i) {
    const cudaDeviceProp* prop = at::cuda::getDeviceProperties(i);
    devices.push_back({i, prop->name, static_cast<long long>(prop->totalGlobalMem)});
  }
  return devices;
}

}  // namespace moalign
#endif
