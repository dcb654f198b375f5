// Exact hypervolume (metrics.md §2): one front, many fronts in one call, and each point's
// exclusive contribution. Points that do not strictly dominate the reference point add nothing;
// they are dropped before any algorithm runs and counted.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "points.h"

namespace moalign::moo {

struct HypervolumeResult {
  double hypervolume = 0;
  std::size_t dropped = 0;  // points that do not strictly dominate the reference point
};

// `ref` has p.m values. 2-D: sort + sweep; 3-D: staircase sweep, O(n log n); 4-D: O(n^2) sweep;
// 5-D and more: WFG with slicing.
HypervolumeResult hypervolume(Points p, const double* ref, const MinimiseMask& mask);

// Exclusive contribution of each point: HV(S) - HV(S \ {p}), computed directly as
// box(p) - HV({min(p, s) : s != p}) so no large difference cancels. 0 for points that another
// point weakly dominates (duplicates included) and for dropped points.
std::vector<double> hypervolume_contributions(Points p, const double* ref, const MinimiseMask& mask,
                                              std::size_t* dropped = nullptr);

// Ragged fronts in CSR layout: front b is rows offsets[b] .. offsets[b+1]-1 of `data` (m columns).
struct FrontBatch {
  const double* data = nullptr;
  const std::int32_t* offsets = nullptr;  // fronts + 1 entries, offsets[0] = 0, non-decreasing
  std::size_t fronts = 0;
  std::size_t rows = 0;  // rows in `data`; must equal offsets[fronts]
  std::size_t m = 0;
  const double* ref = nullptr;  // m values, or fronts * m when ref_per_front
  bool ref_per_front = false;

  // Front f's rows and reference point (offsets already checked).
  Points front(std::size_t f) const {
    const std::size_t row0 = static_cast<std::size_t>(offsets[f]);
    return Points{data + row0 * m, static_cast<std::size_t>(offsets[f + 1]) - row0, m};
  }
  const double* front_ref(std::size_t f) const { return ref + (ref_per_front ? f * m : 0); }
};

struct BatchResult {
  std::vector<double> hypervolume;
  std::vector<std::int32_t> dropped;
};

using BatchProgress = std::function<void(double done, double total)>;

// Throws InvalidArgument on bad offsets, a non-finite reference point or m = 0.
void check_batch_layout(const FrontBatch& batch);

// check_batch_layout, then non-finite values (naming front, row and column): one pass over them.
void check_batch(const FrontBatch& batch);

// Every front on one thread with the single-front kernels, fronts spread over libtorch's intra-op
// threads: each value is bit-identical to hypervolume() on that front, for any thread count.
// Throws what check_batch throws (each front's values are checked by the thread that takes it).
// Checks `cancel` between fronts. Call on the compute thread.
BatchResult hypervolume_batch(const FrontBatch& batch, const MinimiseMask& mask, const CancelToken& cancel,
                              const BatchProgress& progress = {});

// The tensor form for m = 2 and 3 (metrics.md §2.3), float64 on `device` ("cpu" or "cuda"):
// sorts, cumulative maxima and sums over padded fronts. Exact up to summation order.
// Call on the compute thread.
BatchResult hypervolume_batch_tensor(const FrontBatch& batch, const MinimiseMask& mask, const std::string& device,
                                     const CancelToken& cancel);

}  // namespace moalign::moo
