// The multi-objective kernels without Node or libtorch, for instruction counts (callgrind) and
// quick timings that do not depend on the bench's data files. Build and run with
// bench/moo_kernels.sh; cases:
//   batch M REPS      hypervolume_batch on 1,000 linear fronts of 100 points (minimised, ref 1.1),
//                     the data of `npm run bench -- hypervolume`'s batch rows (other random draws)
//   single M N REPS   hypervolume of one such front of N points
//   ranks M REPS      pareto_ranks of 320,000 uniform points
// Prints the median and minimum over REPS calls (wall clock and CPU time), and a checksum of the values.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/moo/hypervolume.h"
#include "core/moo/pareto_ranks.h"

using namespace moalign::moo;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s batch M REPS | single M N REPS | ranks M REPS\n", argv[0]);
    return 2;
  }
  const std::string what = argv[1];
  const std::size_t m = std::strtoul(argv[2], nullptr, 10);
  const int reps = std::atoi(argv[argc - 1]);
  std::mt19937_64 g(1);
  std::exponential_distribution<double> e(1.0);
  std::uniform_real_distribution<double> u(0, 1);
  moalign::CancelToken never;
  // Wall clock, and the process's CPU time (all threads): on a shared machine the CPU time of a
  // one-thread run leaves out the time the thread waited for a core.
  std::vector<double> times, cpu_times;
  double checksum = 0;
  const auto cpu_ms = [] {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
  };
  const auto timed = [&](auto&& call) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_ms();
    call();
    cpu_times.push_back(cpu_ms() - c0);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  };
  if (what == "batch" || what == "single") {
    const std::size_t fronts = what == "batch" ? 1000 : 1;
    const std::size_t n = what == "batch" ? 100 : std::strtoul(argv[3], nullptr, 10);
    std::vector<double> data, row(m);
    std::vector<std::int32_t> offsets{0};
    for (std::size_t f = 0; f < fronts; ++f) {
      for (std::size_t j = 0; j < n; ++j) {  // uniform on the simplex: normalised exponentials
        double sum = 0;
        for (double& v : row) sum += v = e(g);
        for (double v : row) data.push_back(v / sum);
      }
      offsets.push_back(offsets.back() + static_cast<std::int32_t>(n));
    }
    const std::vector<double> ref(m, 1.1);
    const MinimiseMask minimise(m, 1);
    const FrontBatch b{data.data(), offsets.data(), fronts, data.size() / m, m, ref.data(), false};
    for (int r = 0; r < reps; ++r) {
      timed([&] {
        if (what == "batch") {
          const BatchResult res = hypervolume_batch(b, minimise, never);
          checksum = 0;
          for (double v : res.hypervolume) checksum += v;
        } else {
          checksum = hypervolume(b.front(0), ref.data(), minimise).hypervolume;
        }
      });
    }
  } else if (what == "ranks") {
    std::vector<double> x(320000 * m);
    for (double& v : x) v = u(g);
    for (int r = 0; r < reps; ++r) {
      timed([&] {
        const std::vector<std::int32_t> rank = pareto_ranks(Points{x.data(), 320000, m}, {});
        checksum = 0;
        for (std::size_t i = 0; i < rank.size(); ++i) checksum += static_cast<double>(rank[i]) * static_cast<double>(i % 97);
      });
    }
  } else {
    std::fprintf(stderr, "unknown case %s\n", what.c_str());
    return 2;
  }
  std::sort(times.begin(), times.end());
  std::sort(cpu_times.begin(), cpu_times.end());
  std::printf("%s m=%zu: median %.3f ms, min %.3f ms over %d calls (CPU time: median %.3f, min %.3f); checksum %.17g\n",
              what.c_str(), m, times[times.size() / 2], times.front(), reps, cpu_times[cpu_times.size() / 2], cpu_times.front(),
              checksum);
}
