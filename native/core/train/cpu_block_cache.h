// A cache of freed CPU tensor blocks for the training loop.
//
// A training step allocates and frees the same large tensors every step (activations, their
// gradients, the parameters' fresh gradients). Through glibc, blocks of this size come from mmap
// or from a heap top that free() trims, so the next step touches fresh pages again: the engine
// bench's full fine-tune at vocab 256 took ~7,200 page faults per step (28 MB of pages zeroed by
// the kernel), on both moalign's and PyTorch's side. The faults are taken by whichever op first
// writes a new output (addmm's copy of the bias into it, our GELU), serialise in the kernel, and
// so do not shrink with a second thread.
//
// While a CpuBlockCache lives, libtorch's CPU allocator hands out blocks of 256 KiB or more from
// a cache of freed ones of the same size class (8 classes per power of two, at most 12.5% larger
// than asked, so that shapes that vary a little still reuse blocks) and keeps freed blocks for
// reuse, up to 1 GiB; smaller blocks are allocated and freed as libtorch's default allocator does
// (c10::alloc_cpu / free_cpu; its memory-profiler reports are skipped). When the last one ends, the
// previous allocator is back and the cache is returned to the system; blocks still held (a tensor
// made during training) are freed normally later. Core-internal.
#pragma once

namespace moalign::train {

class CpuBlockCache {
 public:
  CpuBlockCache();
  ~CpuBlockCache();
  CpuBlockCache(const CpuBlockCache&) = delete;
  CpuBlockCache& operator=(const CpuBlockCache&) = delete;
};

}  // namespace moalign::train
