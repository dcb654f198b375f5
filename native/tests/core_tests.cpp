// C++ tests of the core library, without Node: `ctest` runs one case per process.
// References are computed here independently (plain loops in double precision).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/cancel.h"
#include "core/compute_thread.h"
#include "core/errors.h"
#include "core/host_array.h"
#include "core/matmul_bench.h"
#include "core/runtime.h"
#include "core/tensor.h"

using namespace moalign;

#include "harness.h"

static HostArray view(std::vector<double>& v, std::vector<int64_t> shape) {
  return HostArray{v.data(), DType::Float64, std::move(shape), nullptr};
}

static void dtype_and_shape_checks() {
  CHECK(dtype_size(DType::Float32) == 4 && dtype_size(DType::Int64) == 8);
  CHECK(std::string(dtype_name(DType::Int32)) == "int32");
  check_shape({2, 3}, 6, "x");
  std::string m = expect_throw<InvalidArgument>([] { check_shape({2, 3}, 5, "x"); });
  CHECK(m.find("needs 6 elements") != std::string::npos && m.find("has 5") != std::string::npos);
  m = expect_throw<InvalidArgument>([] { check_shape({-1, 3}, 3, "x"); });
  CHECK(m.find("negative") != std::string::npos);
  std::vector<double> data(5);
  m = expect_throw<InvalidArgument>([&] { HostArray::over(data.data(), 5, DType::Float64, {2, 3}, "weights"); });
  CHECK(m.rfind("weights: shape [2, 3] needs 6", 0) == 0);
  expect_throw<InvalidArgument>([&] { HostArray::over(nullptr, 2, DType::Float64, {2}); });
  std::vector<int32_t> ints{1, 2};
  m = expect_throw<InvalidArgument>([&] { Tensor::copy_of(HostArray{ints.data(), DType::Int32, {2}, nullptr}, true); });
  CHECK(m.find("floating-point") != std::string::npos);
}

template <typename T>
static void roundtrip_one(DType dtype) {
  std::vector<T> src{T(1), T(-2), T(3), T(4), T(5), T(6)};
  Tensor t = Tensor::copy_of(HostArray{src.data(), dtype, {3, 2}, nullptr});
  src[0] = T(99);  // the tensor owns a copy
  HostArray out = t.to_host();
  CHECK(out.dtype == dtype);
  CHECK(out.shape == (std::vector<int64_t>{3, 2}));
  const T* p = static_cast<const T*>(out.data);
  CHECK(p[0] == T(1) && p[1] == T(-2) && p[5] == T(6));
  CHECK(t.to_host().data == out.data);  // contiguous CPU tensors are viewed, not copied
}

static void host_roundtrip() {
  roundtrip_one<float>(DType::Float32);
  roundtrip_one<double>(DType::Float64);
  roundtrip_one<int32_t>(DType::Int32);
  roundtrip_one<int64_t>(DType::Int64);
  HostArray keep;
  {
    std::vector<float> v{1.5f, 2.5f};
    keep = Tensor::copy_of(HostArray{v.data(), DType::Float32, {2}, nullptr}).to_host();
  }
  CHECK(static_cast<const float*>(keep.data)[1] == 2.5f);  // the view owns the storage
}

static void matmul_backward_float64() {
  const int n = 3, k = 4, m = 2;
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::vector<double> a(n * k), b(k * m), g(n * m);
  for (auto* v : {&a, &b, &g})
    for (double& x : *v) x = normal(rng);
  Tensor ta = Tensor::copy_of(view(a, {n, k}), true);
  Tensor tb = Tensor::copy_of(view(b, {k, m}), true);
  Tensor tg = Tensor::copy_of(view(g, {n, m}));
  Tensor c = ta.matmul(tb);  // (n, m)
  c.mul(tg).sum().backward();  // L = sum(C * G)  =>  dA = G B^T, dB = A^T G
  HostArray c_host = c.to_host(), da = ta.grad()->to_host(), db = tb.grad()->to_host();
  double worst = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) {
      double ref = 0;
      for (int p = 0; p < k; ++p) ref += a[i * k + p] * b[p * m + j];
      worst = std::max(worst, std::abs(ref - static_cast<const double*>(c_host.data)[i * m + j]));
    }
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < k; ++p) {
      double ref = 0;
      for (int j = 0; j < m; ++j) ref += g[i * m + j] * b[p * m + j];
      worst = std::max(worst, std::abs(ref - static_cast<const double*>(da.data)[i * k + p]));
    }
  for (int p = 0; p < k; ++p)
    for (int j = 0; j < m; ++j) {
      double ref = 0;
      for (int i = 0; i < n; ++i) ref += a[i * k + p] * g[i * m + j];
      worst = std::max(worst, std::abs(ref - static_cast<const double*>(db.data)[p * m + j]));
    }
  CHECK(worst < 1e-12);
  CHECK(!tg.grad().has_value());
}

static void torch_error_message() {
  std::vector<double> a(6), b(8);
  Tensor ta = Tensor::copy_of(view(a, {2, 3})), tb = Tensor::copy_of(view(b, {4, 2}));
  try {
    ta.matmul(tb);
    CHECK(false);
  } catch (...) {
    ErrorDescription d = describe_exception(std::current_exception());
    CHECK(d.kind == ErrorKind::Torch);
    CHECK(d.message.find("cannot be multiplied") != std::string::npos);
    CHECK(d.message.find("Exception raised from") == std::string::npos);  // backtrace stripped
  }
}

static void cancel_benchmark() {
  CancelToken pre;
  pre.cancel();
  expect_throw<Cancelled>([&] { benchmark_matmul({64, 5, DType::Float32, "cpu"}, pre); });
  CancelToken token;
  int seen = 0;
  std::string m = expect_throw<Cancelled>([&] {
    benchmark_matmul({64, 1000000, DType::Float32, "cpu"}, token, [&](int done, int) {
      seen = done;
      if (done == 3) token.cancel();
    });
  });
  CHECK(seen == 3);
  CHECK(m.find("aborted") != std::string::npos);
  CancelToken fresh;
  MatmulBenchResult r = benchmark_matmul({32, 4, DType::Float64, "cpu"}, fresh);
  CHECK(r.iterations_done == 4 && r.gflops > 0 && r.device == "cpu");
  expect_throw<InvalidArgument>([&] { benchmark_matmul({0, 1, DType::Float32, "cpu"}, CancelToken{}); });
}

static void one_compute_thread() {
  // Whichever thread calls, the work runs on the one compute thread with the configured count.
  set_num_threads(1);
  int seen = -1, bench_threads = -1;
  std::thread::id ran_on_a, ran_on_b;
  std::thread caller([&] {
    seen = runtime_info().num_threads;
    bench_threads = benchmark_matmul({16, 1, DType::Float32, "cpu"}, CancelToken{}).threads;
    ran_on_a = on_compute_thread([] { return std::this_thread::get_id(); });
  });
  caller.join();
  ran_on_b = on_compute_thread([] { return std::this_thread::get_id(); });
  CHECK(seen == 1 && bench_threads == 1);
  CHECK(ran_on_a == ran_on_b && ran_on_a != std::this_thread::get_id());
  set_num_threads(2);
  CHECK(runtime_info().num_threads == 2);
  // Nested calls from the compute thread run inline instead of waiting on themselves.
  CHECK(on_compute_thread([] { return on_compute_thread([] { return 7; }); }) == 7);
  // Exceptions cross back to the caller.
  expect_throw<InvalidArgument>([] { on_compute_thread([]() -> int { throw InvalidArgument("x"); }); });
  expect_throw<InvalidArgument>([] { set_num_threads(0); });
  BuildInfo b = build_info();
  CHECK(!b.torch_version.empty() && (b.cxx11_abi == 0 || b.cxx11_abi == 1));
}

int main(int argc, char** argv) {
  std::map<std::string, std::function<void()>> cases{
      {"dtype_and_shape_checks", dtype_and_shape_checks}, {"host_roundtrip", host_roundtrip},
      {"matmul_backward_float64", matmul_backward_float64}, {"torch_error_message", torch_error_message},
      {"cancel_benchmark", cancel_benchmark},             {"one_compute_thread", one_compute_thread},
  };
  cases.insert(moo_test_cases().begin(), moo_test_cases().end());
  cases.insert(engine_test_cases().begin(), engine_test_cases().end());
  cases.insert(train_test_cases().begin(), train_test_cases().end());
  int ran = 0;
  for (const auto& [name, run] : cases) {
    if (argc > 1 && name != argv[1]) continue;
    try {
      run();
    } catch (...) {
      std::fprintf(stderr, "%s: uncaught: %s\n", name.c_str(), describe_exception(std::current_exception()).message.c_str());
      ++failures;
    }
    ++ran;
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test case named %s\n", argv[1]);
    return 2;
  }
  std::printf("%d case(s), %d failure(s)\n", ran, failures);
  return failures == 0 ? 0 : 1;
}
