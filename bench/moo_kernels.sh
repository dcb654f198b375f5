#!/bin/sh
# Builds bench/moo_kernels.cpp with the torch-free sources of native/core/moo (-O3, as the addon,
# plus -g) into build/moo_kernels and runs it with the given arguments. hypervolume.cpp only
# needs at::get_num_threads from libtorch: a stub stands in, reading MOO_THREADS (default 1).
#   bench/moo_kernels.sh batch 3 21
#   MOO_THREADS=2 bench/moo_kernels.sh batch 2 21
#   valgrind --tool=callgrind --branch-sim=yes --toggle-collect='moalign::moo::hypervolume_batch*' build/moo_kernels batch 3 1
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
stub="$root/build/moo_kernels_stub"
mkdir -p "$stub/ATen"
cat > "$stub/ATen/Parallel.h" <<'STUB'
#pragma once
#include <cstdlib>
namespace at {
inline int get_num_threads() { const char* t = std::getenv("MOO_THREADS"); return t ? std::atoi(t) : 1; }
}
STUB
sources=$(ls "$root"/native/core/moo/*.cpp | grep -v -e hv_batch_tensor -e select_pareto_hq -e front_metrics)
${CXX:-g++} -std=c++20 -O3 -DNDEBUG -g -I"$stub" -I"$root/native" -o "$root/build/moo_kernels" \
  "$root/bench/moo_kernels.cpp" $sources -pthread
exec "$root/build/moo_kernels" "$@"
