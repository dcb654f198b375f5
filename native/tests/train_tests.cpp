// Preference training's pure parts without a model: the DPO / SFT objective losses and their LS
// and Tchebycheff aggregations against plain float64 loops, the Tchebycheff gradient against the
// analytic λ_{i*} ∇L_{i*}, and the λ sampler's determinism and distribution.
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/tensor.h>
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/train/cpu_block_cache.h"
#include "core/train/preference_loss.h"
#include "core/train/trainer.h"
#include "harness.h"

using namespace moalign;
using namespace moalign::train;

namespace {

const auto f64 = at::TensorOptions().dtype(at::kDouble);

bool near(double a, double b, double tol = 1e-12) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }

double log_sigmoid(double x) { return x > 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Fixed log-probs of B = 5 pairs and m = 3 orderings; objective 2 is unlabelled in `sparse`.
const std::vector<double> pa{-12.5, -30.25, -7.0, -18.0, -22.75}, pb{-14.0, -29.0, -9.5, -17.25, -25.0};
const std::vector<double> ra{-13.0, -29.5, -8.0, -18.5, -23.0}, rb{-13.5, -29.25, -9.0, -17.0, -24.0};
const std::vector<double> sparse{1, -1, 0,  //
                                 -1, 1, 0,  //
                                 0, 1, 0,   //
                                 1, 0, 0,   //
                                 1, -1, 0};
const double beta = 0.3;

struct Reference {
  std::vector<double> L;            // (m)
  std::vector<bool> present;        // (m)
  std::vector<std::vector<double>> item;  // [b][i], 0 where unlabelled
};

Reference dpo_reference(const std::vector<double>& labels, int64_t m) {
  const std::size_t B = pa.size();
  Reference r{std::vector<double>(m, 0), std::vector<bool>(m, false), std::vector<std::vector<double>>(B, std::vector<double>(m, 0))};
  for (int64_t i = 0; i < m; ++i) {
    double sum = 0;
    int n = 0;
    for (std::size_t b = 0; b < B; ++b) {
      const double o = labels[b * m + i];
      if (o == 0) continue;
      const double h = beta * ((pa[b] - ra[b]) - (pb[b] - rb[b]));
      r.item[b][i] = -log_sigmoid(o * h);
      sum += r.item[b][i];
      ++n;
    }
    r.present[i] = n > 0;
    r.L[i] = n > 0 ? sum / n : 0;
  }
  return r;
}

ObjectiveLosses dpo(const std::vector<double>& labels, int64_t m) {
  const int64_t B = static_cast<int64_t>(pa.size());
  return dpo_objective_losses(at::tensor(pa, f64), at::tensor(pb, f64), at::tensor(ra, f64), at::tensor(rb, f64), at::tensor(labels, f64).view({B, m}), beta);
}

void preference_losses() {
  const int64_t m = 3;
  const Reference ref = dpo_reference(sparse, m);
  const ObjectiveLosses l = dpo(sparse, m);
  CHECK(l.losses.scalar_type() == at::kDouble);
  for (int64_t i = 0; i < m; ++i) {
    CHECK(l.present[i].item<bool>() == ref.present[i]);
    CHECK(near(l.losses[i].item<double>(), ref.L[i]));
  }
  const std::vector<double> lam{0.2, 0.5, 0.3}, z{0.1, 0.05, 0.0};
  const at::Tensor lambda = at::tensor(lam, f64);
  // LS over the present objectives (objective 2 is left out of the sum)
  double ls = 0;
  for (int64_t i = 0; i < m; ++i) ls += ref.present[i] ? lam[i] * ref.L[i] : 0;
  const at::Tensor got = aggregate_losses(l, lambda, Aggregation{"ls", {}, 0});
  CHECK(got.scalar_type() == at::kDouble && near(got.item<double>(), ls));
  CHECK(near(aggregate_losses(l, lambda.view({1, m}), Aggregation{"ls", {}, 0}).item<double>(), ls));
  // hard and smooth Tchebycheff over the present objectives
  double tche = -INFINITY, lse = 0;
  const double mu = 0.05;
  for (int64_t i = 0; i < m; ++i)
    if (ref.present[i]) {
      tche = std::max(tche, lam[i] * (ref.L[i] - z[i]));
      lse += std::exp(lam[i] * (ref.L[i] - z[i]) / mu);
    }
  CHECK(near(aggregate_losses(l, lambda, Aggregation{"tche", at::tensor(z, f64), 0}).item<double>(), tche));
  CHECK(near(aggregate_losses(l, lambda, Aggregation{"tche", at::tensor(z, f64), mu}).item<double>(), mu * std::log(lse)));
  // an absent objective stays out of the max even when the present terms are negative (z above L)
  const std::vector<double> high{5, 5, 0};
  double tche_high = -INFINITY;
  for (int64_t i = 0; i < m; ++i)
    if (ref.present[i]) tche_high = std::max(tche_high, lam[i] * (ref.L[i] - high[i]));
  CHECK(tche_high < 0 && near(aggregate_losses(l, lambda, Aggregation{"tche", at::tensor(high, f64), 0}).item<double>(), tche_high));
  // without an ideal point z = 0
  double tche0 = -INFINITY;
  for (int64_t i = 0; i < m; ++i)
    if (ref.present[i]) tche0 = std::max(tche0, lam[i] * ref.L[i]);
  CHECK(near(aggregate_losses(l, lambda, Aggregation{"tche", {}, 0}).item<double>(), tche0));

  // per-sample LS: Σ_i mean over the labelled items b of λ_{b,i} ℓ_{b,i}
  const int64_t B = static_cast<int64_t>(pa.size());
  std::vector<double> per(B * m);
  for (int64_t b = 0; b < B; ++b) {
    const double w[3] = {0.1 + 0.15 * b, 0.6 - 0.1 * b, 0.3 - 0.05 * b};
    for (int64_t i = 0; i < m; ++i) per[b * m + i] = w[i];
  }
  double ps = 0;
  for (int64_t i = 0; i < m; ++i) {
    double s = 0;
    int n = 0;
    for (int64_t b = 0; b < B; ++b)
      if (sparse[b * m + i] != 0) s += per[b * m + i] * ref.item[b][i], ++n;
    ps += n ? s / n : 0;
  }
  const at::Tensor per_lambda = at::tensor(per, f64).view({B, m});
  CHECK(near(aggregate_losses(l, per_lambda, Aggregation{"ls", {}, 0}).item<double>(), ps));
  // fully labelled: the design's mean_b Σ_i λ_{b,i} ℓ_{b,i}
  std::vector<double> full(B * m);
  for (int64_t k = 0; k < B * m; ++k) full[k] = (k * 7 % 3 == 0) ? -1 : 1;
  const Reference fr = dpo_reference(full, m);
  double mean_b = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < m; ++i) mean_b += per[b * m + i] * fr.item[b][i] / B;
  CHECK(near(aggregate_losses(dpo(full, m), per_lambda, Aggregation{"ls", {}, 0}).item<double>(), mean_b));
  // per-sample λ with Tchebycheff is refused, naming why
  const std::string msg = expect_throw<InvalidArgument>([&] { aggregate_losses(l, per_lambda, Aggregation{"tche", {}, 0}); });
  CHECK(msg.find("linear scalarisation") != std::string::npos);
  expect_throw<InvalidArgument>([&] { aggregate_losses(l, at::tensor(std::vector<double>{0.5, 0.5}, f64), Aggregation{"ls", {}, 0}); });

  // SFT: L_i = Σ_b w_{b,i} nll_b / Σ_b w_{b,i}
  const std::vector<double> nll{2.5, 1.25, 3.0, 0.5}, w{1, 0, 0.5, 2, 0, 0, 0, 1, 0, 3, 0, 0};  // (4, 3); objective 2 absent
  const ObjectiveLosses s = sft_objective_losses(at::tensor(nll, f64), at::tensor(w, f64).view({4, 3}));
  for (int64_t i = 0; i < 3; ++i) {
    double num = 0, den = 0;
    for (int64_t b = 0; b < 4; ++b) num += w[b * 3 + i] * nll[b], den += w[b * 3 + i];
    CHECK(s.present[i].item<bool>() == (den > 0));
    CHECK(near(s.losses[i].item<double>(), den > 0 ? num / den : 0));
  }
  // nothing present: a zero without gradient
  const ObjectiveLosses none = dpo(std::vector<double>(B * m, 0), m);
  const at::Tensor zero = aggregate_losses(none, lambda, Aggregation{"tche", {}, 0});
  CHECK(zero.item<double>() == 0 && !zero.requires_grad());
}

// ∂/∂pol_a of hard Tchebycheff is λ_{i*} ∂L_{i*}/∂pol_a with ∂L_i/∂pol_a_b = -β o_{b,i} σ(-o_{b,i} h_b) / n_i.
void preference_tche_gradient() {
  const int64_t m = 3, B = static_cast<int64_t>(pa.size());
  const std::vector<double> lam{0.2, 0.5, 0.3};
  const Reference ref = dpo_reference(sparse, m);
  int64_t star = -1;
  double best = -INFINITY;
  for (int64_t i = 0; i < m; ++i)
    if (ref.present[i] && lam[i] * ref.L[i] > best) best = lam[i] * ref.L[i], star = i;
  at::Tensor leaf = at::tensor(pa, f64).requires_grad_(true);
  const ObjectiveLosses l = dpo_objective_losses(leaf, at::tensor(pb, f64), at::tensor(ra, f64), at::tensor(rb, f64), at::tensor(sparse, f64).view({B, m}), beta);
  aggregate_losses(l, at::tensor(lam, f64), Aggregation{"tche", {}, 0}).backward();
  int n = 0;
  for (int64_t b = 0; b < B; ++b) n += sparse[b * m + star] != 0;
  for (int64_t b = 0; b < B; ++b) {
    const double o = sparse[b * m + star], h = beta * ((pa[b] - ra[b]) - (pb[b] - rb[b]));
    const double expected = o == 0 ? 0 : lam[star] * (-beta * o * sigmoid(-o * h) / n);
    CHECK(near(leaf.grad()[b].item<double>(), expected));
  }
  // smooth Tchebycheff tends to the hard one as μ → 0, and LS's gradient is Σ_i λ_i ∇L_i (not the max's)
  const double hard = aggregate_losses(l, at::tensor(lam, f64), Aggregation{"tche", {}, 0}).item<double>();
  const double soft = aggregate_losses(l, at::tensor(lam, f64), Aggregation{"tche", {}, 1e-4}).item<double>();
  CHECK(soft >= hard && soft - hard < 1e-3);
}

void preference_sampling() {
  // deterministic in (seed, step, row), different across steps and rows
  CHECK(sample_preference(3, 0.1, 7, 12, 0) == sample_preference(3, 0.1, 7, 12, 0));
  CHECK(sample_preference(3, 0, 7, 12, 0) != sample_preference(3, 0, 7, 13, 0));
  CHECK(sample_preference(3, 0, 7, 12, 0) != sample_preference(3, 0, 7, 12, 1));
  CHECK(sample_preference(3, 0, 7, 12, 0) != sample_preference(3, 0, 8, 12, 0));
  CHECK(sample_preference(1, 0.1, 0, 0, 0) == std::vector<double>{1.0});
  const int64_t m = 3, draws = 20000;
  int vertices = 0;
  std::vector<int> per_vertex(m, 0);
  double mean = 0, sq = 0;
  for (int64_t s = 0; s < draws; ++s) {
    const std::vector<double> l = sample_preference(m, 0.3, 11, s, s % 5);
    double sum = 0;
    bool ok = true;
    for (double x : l) sum += x, ok = ok && x >= 0;
    CHECK(ok && std::abs(sum - 1) < 1e-12);
    const auto one = std::find(l.begin(), l.end(), 1.0);
    if (one != l.end()) ++vertices, ++per_vertex[one - l.begin()];
  }
  CHECK(std::abs(vertices / double(draws) - 0.3) < 0.02);  // sd ≈ 0.0032
  for (int v : per_vertex) CHECK(std::abs(v / double(vertices) - 1.0 / m) < 0.03);
  // Dirichlet(1): each marginal is Beta(1, m - 1), mean 1/m, variance (m - 1) / (m² (m + 1))
  for (int64_t s = 0; s < draws; ++s) {
    const double x = sample_preference(m, 0, 5, s, 0)[s % m];
    mean += x / draws;
    sq += x * x / draws;
  }
  const double var = sq - mean * mean, expected_var = (m - 1.0) / (m * m * (m + 1.0));
  CHECK(std::abs(mean - 1.0 / m) < 0.01);  // se ≈ 0.0017
  CHECK(std::abs(var / expected_var - 1) < 0.1);
  expect_throw<InvalidArgument>([] { sample_preference(0, 0.1, 0, 0, 0); });
  expect_throw<InvalidArgument>([] { sample_preference(2, 1.5, 0, 0, 0); });
}


// The training loop's cache of freed CPU blocks: inside a scope a freed large block is handed to
// the next request of its size class (sizes a little apart included), small requests and other
// classes get other blocks, scopes nest, and after the last one libtorch's allocator is back and
// tensors made inside are freed without harm.
void cpu_block_cache() {
  at::Allocator* const before = c10::GetCPUAllocator();
  auto floats = [](int64_t n) { return at::empty({n}, at::TensorOptions().dtype(at::kFloat)); };
  at::Tensor kept;
  {
    const CpuBlockCache cache;
    CHECK(c10::GetCPUAllocator() != before);
    at::Tensor a = floats(1 << 20);  // 4 MiB
    const void* block = a.data_ptr();
    a.fill_(1);
    a = at::Tensor();
    at::Tensor b = floats((1 << 20) - 1000);  // same size class
    CHECK(b.data_ptr() == block);
    at::Tensor c = floats(1 << 20);  // the block is taken: another one
    CHECK(c.data_ptr() != block);
    b = at::Tensor();
    {
      const CpuBlockCache nested;
      at::Tensor d = floats(1 << 20);
      CHECK(d.data_ptr() == block);
      d.fill_(2);
      kept = d;
    }
    CHECK(c10::GetCPUAllocator() != before);  // still inside the outer scope
    at::Tensor small = floats(16);
    CHECK(small.data_ptr() != block);
    // raw_allocate / raw_deallocate, which some ATen kernels use for scratch: small and large
    for (const std::size_t n : {std::size_t{64}, std::size_t{1} << 22}) {
      at::Allocator* const alloc = c10::GetCPUAllocator();
      void* p = alloc->raw_allocate(n);
      std::memset(p, 0, n);
      alloc->raw_deallocate(p);
    }
  }
  CHECK(c10::GetCPUAllocator() == before);
  CHECK(kept.sum().item<double>() == 2.0 * (1 << 20));
  kept = at::Tensor();  // freed to the system, not cached
  at::Tensor e = floats(1 << 20);
  e.fill_(3);
  CHECK(e.sum().item<double>() == 3.0 * (1 << 20));
}
}  // namespace

const std::map<std::string, std::function<void()>>& train_test_cases() {
  static const std::map<std::string, std::function<void()>> cases{
      {"preference_losses", preference_losses}, {"preference_tche_gradient", preference_tche_gradient}, {"preference_sampling", preference_sampling},
      {"cpu_block_cache", cpu_block_cache}};
  return cases;
}
