// What this binary was built against and what the running libtorch offers; thread control.
#pragma once
#include <string>
#include <vector>

namespace moalign {

struct BuildInfo {
  std::string torch_version;  // the libtorch headers compiled against, "major.minor.patch"
  int cxx11_abi;              // _GLIBCXX_USE_CXX11_ABI of this binary (must equal libtorch's)
  bool cuda_compiled;         // built with the CUDA sources (libtorch had CUDA)
  std::string compiler;
};

struct CudaDevice {
  int index;
  std::string name;
  long long total_memory;  // bytes
};

struct RuntimeInfo {
  int num_threads;          // intra-op threads of the calling thread
  int num_interop_threads;
  bool cuda_available;
  std::vector<CudaDevice> cuda_devices;
  std::string parallel_info;  // libtorch's own summary (OpenMP/MKL threads)
};

BuildInfo build_info();
RuntimeInfo runtime_info();

// runtime_info() and the thread settings act on the compute thread (core/compute_thread.h),
// where all libtorch work runs, whichever thread calls them.
// Sets libtorch's intra-op threads.
void set_num_threads(int n);
// Inter-op threads can be set once, before any inter-op work; later calls throw.
void set_num_interop_threads(int n);

// Filled by cuda_devices.cpp when built with CUDA; empty otherwise.
std::vector<CudaDevice> list_cuda_devices();

}  // namespace moalign
