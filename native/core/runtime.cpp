#include "runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/headeronly/version.h>

#include "compute_thread.h"
#include "errors.h"

namespace moalign {

#define MOALIGN_STR2(x) #x
#define MOALIGN_STR(x) MOALIGN_STR2(x)

BuildInfo build_info() {
  BuildInfo info;
  info.torch_version = MOALIGN_STR(TORCH_VERSION_MAJOR) "." MOALIGN_STR(TORCH_VERSION_MINOR) "." MOALIGN_STR(TORCH_VERSION_PATCH);
  info.cxx11_abi = _GLIBCXX_USE_CXX11_ABI;
#ifdef MOALIGN_WITH_CUDA
  info.cuda_compiled = true;
#else
  info.cuda_compiled = false;
#endif
#if defined(__clang__)
  info.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "gcc " __VERSION__;
#else
  info.compiler = "unknown";
#endif
  return info;
}

// Thread settings are per thread in OpenMP: read and write them where the compute runs.
RuntimeInfo runtime_info() {
  return on_compute_thread([] {
    RuntimeInfo info;
    info.num_threads = at::get_num_threads();
    info.num_interop_threads = at::get_num_interop_threads();
    info.cuda_available = at::hasCUDA();
    if (info.cuda_available) info.cuda_devices = list_cuda_devices();
    info.parallel_info = at::get_parallel_info();
    return info;
  });
}

void set_num_threads(int n) {
  if (n < 1) throw InvalidArgument("numThreads must be a positive integer, got " + std::to_string(n));
  on_compute_thread([n] { at::set_num_threads(n); });
}

void set_num_interop_threads(int n) {
  if (n < 1) throw InvalidArgument("numInteropThreads must be a positive integer, got " + std::to_string(n));
  on_compute_thread([n] { at::set_num_interop_threads(n); });
}

#ifndef MOALIGN_WITH_CUDA
std::vector<CudaDevice> list_cuda_devices() { return {}; }
#endif

}  // namespace moalign
