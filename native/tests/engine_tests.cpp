// The transformer engine without Node: the parity fixtures (test/fixtures/engine, written by
// transformers) loaded through the core, on the CPU or on MOALIGN_TEST_DEVICE (e.g. cuda).
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/gelu_backward.h>
#include <ATen/ops/linspace.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/scaled_dot_product_attention.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/triu.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/ones.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/adapters/low_rank_kernels.h"
#include "core/adapters/svd_lora.h"
#include "core/aten_bridge.h"
#include "core/device_time.h"
#include "core/runtime.h"
#include "core/model/causal_attention.h"
#include "core/model/causal_lm.h"
#include "core/model/gelu.h"
#include "core/model/json_lite.h"
#include "core/model/safetensors.h"
#include "core/model/soup.h"
#include "core/train/trainer.h"
#include <torch/csrc/autograd/autograd.h>
#include "harness.h"

using namespace moalign;

namespace {

std::string fixtures() {
  const char* dir = std::getenv("MOALIGN_ENGINE_FIXTURES");
  return dir ? dir : "test/fixtures/engine";
}
std::string device() {
  const char* d = std::getenv("MOALIGN_TEST_DEVICE");
  return d ? d : "cpu";
}

json::Value read_json(const std::string& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str(), file);
}

at::Tensor int_matrix(const json::Value& rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows.array)
    for (const auto& x : r.array) flat.push_back(static_cast<int64_t>(x.number));
  const auto B = static_cast<int64_t>(rows.array.size());
  return at::tensor(flat, at::TensorOptions().dtype(at::kLong)).view({B, -1});
}

// The core's reading of the config.json files the fixtures use (TS does this for users).
model::ModelConfig config_for(const std::string& name) {
  const json::Value c = read_json(fixtures() + "/" + name + "/config.json");
  auto num = [&](const char* k) { return c.find(k)->number; };
  model::ModelConfig m;
  if (c.find("model_type")->string == "gpt2") {
    m.layout = model::Layout::Gpt2;
    m.hidden_size = static_cast<int64_t>(num("n_embd"));
    m.num_layers = static_cast<int64_t>(num("n_layer"));
    m.num_heads = m.num_kv_heads = static_cast<int64_t>(num("n_head"));
    m.intermediate_size = 4 * m.hidden_size;
    m.max_positions = static_cast<int64_t>(num("n_positions"));
    m.prefix = "transformer.";
  } else {
    m.layout = model::Layout::Llama;
    m.hidden_size = static_cast<int64_t>(num("hidden_size"));
    m.num_layers = static_cast<int64_t>(num("num_hidden_layers"));
    m.num_heads = static_cast<int64_t>(num("num_attention_heads"));
    m.num_kv_heads = static_cast<int64_t>(num("num_key_value_heads"));
    m.intermediate_size = static_cast<int64_t>(num("intermediate_size"));
    m.max_positions = static_cast<int64_t>(num("max_position_embeddings"));
    m.norm_eps = num("rms_norm_eps");
    m.rope_theta = c.find("rope_parameters")->find("rope_theta")->number;
    m.qkv_bias = c.find("model_type")->string == "qwen2";
    m.tie_embeddings = false;
    m.prefix = "model.";
  }
  m.vocab_size = static_cast<int64_t>(num("vocab_size"));
  m.head_dim = m.hidden_size / m.num_heads;
  return m;
}

void engine_parity() {
  const json::Value cases = read_json(fixtures() + "/cases.json");
  const model::SafetensorsFile expected(fixtures() + "/expected.safetensors");
  const json::Value& batch = *cases.find("batch");
  const at::Tensor ids = int_matrix(*batch.find("input_ids")), mask = int_matrix(*batch.find("attention_mask"));
  const at::Tensor valid = mask.to(at::kBool).unsqueeze(-1);
  for (const char* name : {"gpt2", "llama", "qwen2"}) {
    model::CausalLM lm(fixtures() + "/" + name, config_for(name), model::LoadOptions{"float32", device()});
    const at::Tensor got = aten(lm.logits({wrap(ids), wrap(mask)}));
    const at::Tensor want = expected.tensor(std::string(name) + ".logits", at::kFloat);
    const double err = ((got - want).abs() / want.abs().clamp_min(1)).masked_fill(~valid, 0).max().item<double>();
    std::printf("%s on %s: max relative logit error %.2e\n", name, device().c_str(), err);
    CHECK(err < (device() == "cpu" ? 1e-5 : 1e-4));
    // greedy generation from the three prompts together equals transformers' ids
    std::vector<std::vector<int64_t>> prompts;
    for (const auto& p : cases.find("generation")->find("prompts")->array) {
      prompts.emplace_back();
      for (const auto& t : p.array) prompts.back().push_back(static_cast<int64_t>(t.number));
    }
    model::GenerateOptions g;
    g.max_new_tokens = 8;
    g.pad_id = static_cast<int64_t>(cases.find("generation")->find("pad_token_id")->number);
    const model::GenerateResult r = lm.generate(prompts, g, nullptr, {});
    const json::Value& want_ids = *cases.find("models")->find(name)->find("generation")->find("batch3");
    for (std::size_t i = 0; i < prompts.size(); ++i)
      for (std::size_t t = 0; t < 8; ++t) CHECK(r.tokens[i].at(t) == static_cast<int64_t>(want_ids.array[i].array[t].number));
  }
  // a missing tensor is named
  model::ModelConfig bad = config_for("gpt2");
  bad.num_layers = 3;
  const std::string msg = expect_throw<InvalidArgument>([&] { model::CausalLM(fixtures() + "/gpt2", bad, {}); });
  CHECK(msg.find("missing tensor transformer.h.2.ln_1.weight") != std::string::npos);
}


// Weight soups of LoRA experts: merging an adapter with weight 1 gives the logits of the model
// with the adapter attached, weight 0 the base, and the merged weights equal W0 + w (alpha/r)
// (B A) (transposed for GPT-2's Conv1D) computed here from the adapter file; for GPT-2 (Conv1D)
// and Llama (nn.Linear) layouts. Checkpoint interpolation: sum_i w_i theta_i, tensor by tensor.
void lora_soup() {
  const at::Tensor ids = at::tensor(std::vector<int64_t>{5, 17, 42, 99, 3, 7, 11, 200}, at::TensorOptions().dtype(at::kLong)).view({2, 4});
  struct Case {
    const char* model;
    const char* adapter;
    std::vector<std::string> targets;
    const char* probe;  // a targeted weight
    bool conv1d;
  };
  const Case cases[] = {{"gpt2", "gpt2-lora", {"c_attn", "c_proj"}, "transformer.h.0.attn.c_attn", true},
                        {"llama", "llama-lora", {"q_proj", "v_proj", "o_proj", "down_proj"}, "model.layers.0.self_attn.q_proj", false}};
  for (const Case& c : cases) {
    const std::string base_dir = fixtures() + "/" + c.model, adapter_dir = fixtures() + "/" + c.adapter;
    model::LoraOptions lora;
    lora.target_suffixes = c.targets;
    lora.rank = 4;
    lora.alpha = 8;
    const model::LoadOptions load{"float32", device()};
    model::CausalLM attached(base_dir, config_for(c.model), load);
    attached.load_lora(adapter_dir, lora);
    const at::Tensor want = aten(attached.logits({wrap(ids), {}}));
    model::CausalLM merged(base_dir, config_for(c.model), load);
    const at::Tensor base = aten(merged.logits({wrap(ids), {}}));
    const at::Tensor w0 = aten(merged.parameter(std::string(c.probe) + ".weight")).clone().cpu();
    merged.merge_lora_from(adapter_dir, lora, 0.0);
    CHECK((aten(merged.logits({wrap(ids), {}})) - base).abs().max().item<double>() == 0);
    merged.merge_lora_from(adapter_dir, lora, 1.0);
    CHECK(!merged.has_adapters());
    const double err = (aten(merged.logits({wrap(ids), {}})) - want).abs().max().item<double>();
    std::printf("%s: merged adapter vs attached, max logit error %.2e\n", c.model, err);
    CHECK(err < 1e-5);
    CHECK((want - base).abs().max().item<double>() > 1e-3);  // the adapter does change the model
    // the delta itself, from the file: (alpha / r) B A, stored transposed by Conv1D
    const model::SafetensorsCheckpoint file(adapter_dir, "adapter_model");
    const std::string peft = std::string("base_model.model.") + c.probe;
    const at::Tensor a = file.tensor(peft + ".lora_A.weight", at::kFloat), b = file.tensor(peft + ".lora_B.weight", at::kFloat);
    at::Tensor delta = b.matmul(a) * (8.0 / 4.0);  // (out, in)
    if (c.conv1d) delta = delta.t();
    merged.merge_lora_from(adapter_dir, lora, -0.5);  // now W0 + 0.5 dW
    const at::Tensor w = aten(merged.parameter(std::string(c.probe) + ".weight")).cpu();
    CHECK((w - (w0 + 0.5 * delta)).abs().max().item<double>() < 1e-6);
    // a module the adapter lacks: refused, and no weight has changed
    model::LoraOptions wrong = lora;
    wrong.target_suffixes.push_back(c.conv1d ? "c_fc" : "k_proj");
    const std::string msg = expect_throw<InvalidArgument>([&] { merged.merge_lora_from(adapter_dir, wrong, 1.0); });
    CHECK(msg.find("missing tensor") != std::string::npos);
    CHECK((aten(merged.parameter(std::string(c.probe) + ".weight")).cpu() - w).abs().max().item<double>() == 0);
  }

  // checkpoints: 0.25 theta + 0.75 theta = theta; 1 theta + 1 theta = 2 theta; different models refused
  const std::string out = (std::filesystem::temp_directory_path() / "moalign-soup-test.safetensors").string();
  const model::SafetensorsCheckpoint gpt2(fixtures() + "/gpt2");
  model::interpolate_checkpoints({fixtures() + "/gpt2", fixtures() + "/gpt2"}, {0.25, 0.75}, "model", out);
  {
    const model::SafetensorsFile got(out);
    CHECK(got.entries().size() == gpt2.names().size());
    for (const auto& name : gpt2.names()) CHECK((got.tensor(name, at::kFloat) - gpt2.tensor(name, at::kFloat)).abs().max().item<double>() < 1e-6);
  }
  model::interpolate_checkpoints({fixtures() + "/gpt2", fixtures() + "/gpt2"}, {1.0, 1.0}, "model", out, "bfloat16");
  {
    const model::SafetensorsFile got(out);
    const std::string name = "transformer.h.1.mlp.c_fc.weight";
    CHECK(got.entries().at(name).dtype == "BF16");
    const at::Tensor want2 = (2 * gpt2.tensor(name, at::kFloat)).to(at::kBFloat16).to(at::kFloat);
    CHECK((got.tensor(name, at::kFloat) - want2).abs().max().item<double>() == 0);
  }
  std::filesystem::remove(out);
  CHECK(expect_throw<InvalidArgument>([&] { model::interpolate_checkpoints({fixtures() + "/gpt2", fixtures() + "/llama"}, {0.5, 0.5}, "model", out); })
            .find("names differ") != std::string::npos);
  CHECK(!std::filesystem::exists(out));
}


// ---- Panacea's SVD-LoRA --------------------------------------------------------------------

at::Tensor randn(std::vector<int64_t> shape, at::Generator& g, at::ScalarType dtype = at::kDouble) {
  return at::randn(shape, g, at::TensorOptions().dtype(dtype));
}

// The fused layer's backward against autograd on the unfused formula, written with plain ops in
// float64 (design §4): y = x W0^T + b + c ((x V) ⊙ D) U^T, D = [σ, s λ] per row. Non-zero σ and s,
// so that every gradient is non-trivial; one λ for every row, then one λ per row; W0 stored as
// nn.Linear's (out, in) and as GPT-2's Conv1D (in, out). W0 and b are leaves too: the layer runs
// the frozen projection itself and must pass their gradients on when they are trained. With
// dropout, a fixed inverted-dropout mask (keep = Bernoulli(1 - p) / (1 - p)) on the adapter's input:
// the fused backward must use the forward's mask, for x (only the adapter's share) and for V.
// The layer cuts the tokens into one chunk per thread when there are enough of them (and the λ rows
// split evenly): the longer inputs run on two threads, in 2 chunks for one λ and for 4 rows, in 1
// for 3 rows.
// The fused function against autograd on the unfused formula, in float64, on `device` (drawn on
// the CPU, then moved): on a CUDA device the forward's scale-and-project runs in the kernel.
void svd_lora_fused_vs_unfused(const std::string& device) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t in = 7, out = 5, k = 2, m = 3, r = k + m;
  const double c = 7.0 / k;  // not a power of two: no exact rescaling to hide behind
  const double p_drop = 0.3;
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  for (const auto& [B, T] : std::vector<std::pair<int64_t, int64_t>>{{3, 4}, {3, 64}, {4, 32}})
  for (const bool dropout : {false, true})
  for (const bool conv1d : {false, true}) {
    for (const int64_t R : {int64_t{1}, B}) {
      const at::Device d(device);
      const at::Tensor x0 = randn({B, T, in}, g).to(d), w0 = randn(conv1d ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in}, g).to(d);
      const at::Tensor b0 = randn({out}, g).to(d), u0 = randn({out, r}, g).to(d), v0 = randn({in, r}, g).to(d), sigma0 = randn({k}, g).to(d),
                       s0 = randn({1}, g).to(d);
      const at::Tensor lambda = at::softmax(randn({R, m}, g), 1).to(d);  // rows on the simplex
      const at::Tensor upstream = randn({B, T, out}, g).to(d);
      const at::Tensor keep = dropout ? (at::empty({B, T, in}, at::TensorOptions().dtype(at::kDouble)).bernoulli_(1 - p_drop, g) / (1 - p_drop)).to(d)
                                      : at::Tensor();  // (B, T, in) or none
      auto leaves = [&] {
        std::vector<at::Tensor> l;
        for (const at::Tensor& t : {x0, w0, b0, u0, v0, sigma0, s0}) l.push_back(t.clone().requires_grad_(true));
        return l;
      };
      // fused
      auto f = leaves();
      const at::Tensor y_f = adapters::svd_lora_apply(f[0], adapters::FrozenProjection{f[1], f[2], conv1d}, f[3], f[4], f[5], f[6], lambda, c, keep);
      (y_f * upstream).sum().backward();
      // unfused
      auto p = leaves();
      const at::Tensor D = at::cat({p[5].unsqueeze(0).expand({R, k}), p[6] * lambda}, 1).unsqueeze(1);  // (R, 1, r)
      const at::Tensor base = at::matmul(p[0], conv1d ? p[1] : p[1].t()) + p[2];
      const at::Tensor x_adapter = dropout ? p[0] * keep : p[0];  // the frozen path sees x itself
      const at::Tensor y_p = base + at::matmul(at::matmul(x_adapter, p[4]) * D, p[3].t()) * c;
      (y_p * upstream).sum().backward();
      CHECK((y_f - y_p).abs().max().item<double>() < 1e-12);
      const char* names[] = {"x", "W0", "b", "U", "V", "sigma", "s"};
      for (int i = 0; i < 7; ++i) {
        const at::Tensor a = f[i].grad(), e = p[i].grad();
        const double err = (a - e).abs().max().item<double>() / e.abs().max().item<double>();
        std::printf("SVD-LoRA gradient of %s on %s, %lld tokens, %lld preference rows, %s%s: relative error %.1e\n", names[i], device.c_str(),
                    static_cast<long long>(B * T), static_cast<long long>(R), conv1d ? "Conv1D" : "Linear", dropout ? ", dropout" : "", err);
        CHECK(e.abs().max().item<double>() > 1e-3);  // non-trivial
        CHECK(err < 1e-12);
      }
    }
  }
  at::set_num_threads(threads);
}

// The float32 CPU kernels (adapters/low_rank_kernels.h) against the unfused formula in float64
// from the same float32 values, within 8 times the error of that formula in float32 through
// libtorch (or 2e-6, when that is smaller): every rank the kernels take (1..16, and 17, which goes to
// libtorch's products), token counts, input and output widths that are no multiple of 16 (the
// kernels' partial strips), one λ and one per batch row, with and without dropout, on two
// threads (150 tokens: two chunks, the chunk boundary inside a preference row's tokens).
void svd_lora_float32_kernels() {
  auto g = at::make_generator<at::CPUGeneratorImpl>(11);
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  double worst = 0;
  int cases = 0;
  for (const auto& [B, T] : std::vector<std::pair<int64_t, int64_t>>{{1, 37}, {3, 50}})
  for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{7, 5}, {37, 53}, {130, 19}})
  for (int64_t r = 1; r <= adapters::low_rank::kMaxRank + 1; ++r)
  for (const bool per_row : {false, true})
  for (const bool dropout : {false, true}) {
    const int64_t k = r / 2, m = r - k, R = per_row ? B : 1;
    const bool conv1d = (r + in) % 2 == 0;
    const double c = 5.0 / std::max<int64_t>(k, 1);
    // float64 draws, rounded to float32: both computations start from the same values
    auto draw = [&](std::vector<int64_t> shape, double scale) { return (randn(shape, g) * scale).to(at::kFloat).to(at::kDouble); };
    const std::vector<at::Tensor> values = {draw({B, T, in}, 1), draw(conv1d ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in}, 0.3),
                                            draw({out}, 1), draw({out, r}, 0.5), draw({in, r}, 0.5), draw({k}, 1), draw({1}, 1)};
    const at::Tensor lambda = at::softmax(randn({R, m}, g), 1).to(at::kFloat).to(at::kDouble);
    const at::Tensor upstream = draw({B, T, out}, 1);
    const at::Tensor keep = dropout ? at::empty({B, T, in}, at::TensorOptions().dtype(at::kDouble)).bernoulli_(0.75, g) / 0.75 : at::Tensor();
    auto leaves = [&](at::ScalarType dtype) {
      std::vector<at::Tensor> l;
      for (const at::Tensor& t : values) l.push_back(t.to(dtype).clone().requires_grad_(true));
      return l;
    };
    // y of the unfused formula on leaves of `dtype`, its gradients left in them
    auto unfused = [&](const std::vector<at::Tensor>& p) {
      const at::ScalarType dtype = p[0].scalar_type();
      const at::Tensor lam = lambda.to(dtype);
      const at::Tensor D = at::cat({p[5].unsqueeze(0).expand({R, k}), p[6] * lam}, 1).unsqueeze(1);  // (R, 1, r)
      const at::Tensor x_adapter = dropout ? p[0] * keep.to(dtype) : p[0];
      const at::Tensor y = at::matmul(p[0], conv1d ? p[1] : p[1].t()) + p[2] + at::matmul(at::matmul(x_adapter, p[4]) * D, p[3].t()) * c;
      (y * upstream.to(dtype)).sum().backward();
      return y;
    };
    auto f = leaves(at::kFloat);
    const at::Tensor y_f = adapters::svd_lora_apply(f[0], adapters::FrozenProjection{f[1], f[2], conv1d}, f[3], f[4], f[5], f[6], lambda.to(at::kFloat), c,
                                                    dropout ? keep.to(at::kFloat) : at::Tensor());
    (y_f * upstream.to(at::kFloat)).sum().backward();
    auto e = leaves(at::kDouble);
    const at::Tensor y_e = unfused(e);
    // The same formula in float32 through libtorch: how well float32 can do on this case. The
    // gradient of s sums c D λ-weighted terms of both signs and may lose several digits.
    auto q = leaves(at::kFloat);
    const at::Tensor y_q = unfused(q);
    auto relative = [](const at::Tensor& a, const at::Tensor& e) { return (a.to(at::kDouble) - e).abs().max().item<double>() / e.abs().max().item<double>(); };
    auto check = [&](const char* what, const at::Tensor& got, const at::Tensor& float32_ref, const at::Tensor& exact) {
      const double err = relative(got, exact), bound = std::max(2e-6, 8 * relative(float32_ref, exact));
      if (!(err < bound))
        std::printf("float32 SVD-LoRA, %s: %lld x %lld tokens, in %lld, out %lld, rank %lld%s%s: relative error %.1e, bound %.1e\n", what,
                    static_cast<long long>(B), static_cast<long long>(T), static_cast<long long>(in), static_cast<long long>(out), static_cast<long long>(r),
                    per_row ? ", λ per row" : "", dropout ? ", dropout" : "", err, bound);
      CHECK(err < bound);
      worst = std::max(worst, err);
    };
    check("y", y_f, y_q, y_e);
    const char* names[] = {"dx", "dW0", "db", "dU", "dV", "dsigma", "ds"};
    for (int i = 0; i < 7; ++i)
      if (e[i].numel() > 0) check(names[i], f[i].grad(), q[i].grad(), e[i].grad());  // σ is empty at rank 1 (k 0)
    ++cases;
  }
  std::printf("float32 SVD-LoRA against float64: %d cases, worst relative error %.1e\n", cases, worst);
  // A gradient of the gradient: the kernels' gradients carry no graph, so it is refused by name.
  {
    const int64_t in = 9, out = 6, k = 2, m = 1;
    const at::Tensor x = randn({1, 20, in}, g, at::kFloat).requires_grad_(true), w = randn({out, in}, g, at::kFloat);
    const at::Tensor u = randn({out, k + m}, g, at::kFloat).requires_grad_(true), v = randn({in, k + m}, g, at::kFloat).requires_grad_(true);
    const at::Tensor y = adapters::svd_lora_apply(x, adapters::FrozenProjection{w, at::Tensor(), false}, u, v, randn({k}, g, at::kFloat),
                                                  randn({1}, g, at::kFloat), at::ones({1, m}), 2.0);
    const std::string msg = expect_throw<std::exception>([&] { torch::autograd::grad({y.sum()}, {u}, {}, std::nullopt, /*create_graph=*/true); });
    CHECK(msg.find("create_graph") != std::string::npos);
  }
  at::set_num_threads(threads);
}

void svd_lora_gradcheck() {
  svd_lora_fused_vs_unfused("cpu");
  if (runtime_info().cuda_available) svd_lora_fused_vs_unfused("cuda");
  else std::printf("svd_lora_gradcheck: CUDA part (the scale-and-project kernel) skipped: this libtorch has no CUDA or no GPU is visible\n");
  auto g = at::make_generator<at::CPUGeneratorImpl>(4);
  const int64_t in = 7, out = 5, k = 2, m = 3, r = k + m;
  const double c = 7.0 / k;
  // per-row λ needs an input with that many rows
  const at::Tensor x = randn({2, 4, in}, g), w = randn({out, in}, g);
  const std::string msg = expect_throw<InvalidArgument>([&] {
    adapters::svd_lora_apply(x, adapters::FrozenProjection{w, at::Tensor(), false}, randn({out, r}, g), randn({in, r}, g), randn({k}, g),
                             randn({1}, g), at::softmax(randn({3, m}, g), 1), c);
  });
  CHECK(msg.find("3 preference rows") != std::string::npos);
}

struct SvdCase {
  const char* model;
  std::vector<std::string> targets;
  const char* probe;  // a targeted module
  bool conv1d;
};
const SvdCase kSvdCases[] = {
    {"gpt2", {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"}, "transformer.h.0.attn.c_attn", true},
    {"llama", {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}, "model.layers.0.self_attn.q_proj", false}};

model::SvdLoraOptions svd_options(const SvdCase& c) {
  model::SvdLoraOptions o;
  o.target_suffixes = c.targets;
  o.rank = 2;
  o.preferences = 3;
  o.alpha = 8;
  o.seed = 5;
  return o;
}

Tensor prefs(std::vector<double> flat, int64_t m) {
  const auto rows = static_cast<int64_t>(flat.size()) / m;
  return wrap(at::tensor(flat, at::TensorOptions().dtype(at::kDouble)).view({rows, m}));
}

// Trained-looking adapters: every σ, s, U, V written with random values through the parameter
// handles (the tensors training would update).
void randomise_svd(model::CausalLM& lm, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::NoGradGuard no_grad;
  for (const auto& name : lm.parameter_names(true)) {
    at::Tensor t = aten(lm.parameter(name));
    const double scale = name.find("svd_lora_s") != std::string::npos && name.find("sigma") == std::string::npos ? 1.0
                         : name.find("sigma") != std::string::npos                                                  ? 0.5
                                                                                                                     : 0.1;
    t.copy_(randn(t.sizes().vec(), g, at::kFloat) * scale);
  }
}

std::vector<std::pair<std::string, at::Tensor>> base_weights(model::CausalLM& lm) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& name : lm.parameter_names(false))
    if (name.rfind("base_model.", 0) != 0) out.emplace_back(name, aten(lm.parameter(name)).clone());
  return out;
}
bool same_bits(model::CausalLM& lm, const std::vector<std::pair<std::string, at::Tensor>>& kept) {
  bool same = true;
  for (const auto& [name, t] : kept) same &= at::equal(aten(lm.parameter(name)), t);
  return same;
}

// Zero init leaves the base untouched; a batch with mixed λ equals each row alone; merging one λ
// equals the unmerged forward (GPT-2's Conv1D included) and unmerging restores W0 bit for bit;
// a merged model refuses per-row λ and training; the simplex is checked.
void svd_lora_model() {
  const at::Tensor ids = at::tensor(std::vector<int64_t>{5, 17, 42, 99, 3, 7, 11, 200, 64, 1, 2, 30}, at::TensorOptions().dtype(at::kLong)).view({3, 4});
  const std::vector<double> three{1, 0, 0, 0.2, 0.3, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3};
  for (const SvdCase& c : kSvdCases) {
    model::CausalLM lm(fixtures() + "/" + c.model, config_for(c.model), model::LoadOptions{"float32", device(), {}});
    const at::Tensor base = aten(lm.logits({wrap(ids), {}}));
    const auto w0 = base_weights(lm);
    lm.add_svd_lora(svd_options(c));
    CHECK(lm.preference_dim() == 3);
    // λ is a buffer: only U, V, σ, s per module are parameters
    const auto trainable = lm.parameter_names(true);
    CHECK(trainable.size() == 4 * (c.conv1d ? 4 : 7) * static_cast<std::size_t>(config_for(c.model).num_layers));
    CHECK(expect_throw<InvalidArgument>([&] { lm.logits({wrap(ids), {}}); }).find("no preference") != std::string::npos);
    lm.set_preference(prefs({0.2, 0.3, 0.5}, 3));
    CHECK((aten(lm.logits({wrap(ids), {}})) - base).abs().max().item<double>() == 0);
    lm.set_preference(prefs(three, 3));
    CHECK((aten(lm.logits({wrap(ids), {}})) - base).abs().max().item<double>() == 0);

    randomise_svd(lm, 11);
    // mixed λ in one batch == each row alone with its own λ
    const at::Tensor mixed = aten(lm.logits({wrap(ids), {}}));
    double row_err = 0;
    for (int64_t b = 0; b < 3; ++b) {
      lm.set_preference(prefs({three.begin() + 3 * b, three.begin() + 3 * b + 3}, 3));
      row_err = std::max(row_err, (aten(lm.logits({wrap(ids.narrow(0, b, 1)), {}})) - mixed.narrow(0, b, 1)).abs().max().item<double>());
    }
    const double effect = (mixed - base).abs().max().item<double>();
    std::printf("%s SVD-LoRA: per-row λ vs one row at a time %.2e (adapter effect %.2e)\n", c.model, row_err, effect);
    CHECK(row_err < 1e-5);
    CHECK(effect > 1e-2);
    // λ matters: different preferences, different logits
    CHECK((mixed.narrow(0, 0, 1) - aten(lm.logits({wrap(ids.narrow(0, 0, 1)), {}}))).abs().max().item<double>() > 1e-3);
    // per-row λ with a batch of another size
    lm.set_preference(prefs({1, 0, 0, 0, 1, 0}, 3));
    CHECK(expect_throw<InvalidArgument>([&] { lm.logits({wrap(ids), {}}); }).find("2 preference rows") != std::string::npos);

    // merge for one λ == unmerged forward; the merged weight is W0 + c U diag(D) V^T (transposed
    // for Conv1D), computed here from the parameters; unmerge restores W0 bit for bit
    lm.set_preference(prefs({0.2, 0.3, 0.5}, 3));
    const at::Tensor unmerged = aten(lm.logits({wrap(ids), {}}));
    lm.merge_adapters();
    const double merge_err = (aten(lm.logits({wrap(ids), {}})) - unmerged).abs().max().item<double>();
    std::printf("%s SVD-LoRA: merged vs unmerged logits %.2e\n", c.model, merge_err);
    CHECK(merge_err < 1e-4);
    {
      const std::string peft = std::string("base_model.model.") + c.probe + ".svd_lora_";
      const at::Tensor U = aten(lm.parameter(peft + "U")), V = aten(lm.parameter(peft + "V"));
      const at::Tensor sigma = aten(lm.parameter(peft + "sigma")), s = aten(lm.parameter(peft + "s"));
      at::Tensor D = at::cat({sigma, s * at::tensor(std::vector<float>{0.2f, 0.3f, 0.5f}).to(s.device())});
      at::Tensor delta = at::matmul(U * D, V.t()) * (8.0 / 2);  // (out, in)
      if (c.conv1d) delta = delta.t();
      at::Tensor probe_w0;
      for (const auto& [n, t] : w0)
        if (n == std::string(c.probe) + ".weight") probe_w0 = t;
      const at::Tensor w = aten(lm.parameter(std::string(c.probe) + ".weight"));
      CHECK((w - (probe_w0 + delta)).abs().max().item<double>() < 1e-5);
      CHECK(delta.abs().max().item<double>() > 1e-3);
    }
    CHECK(expect_throw<InvalidArgument>([&] { lm.set_preference(prefs(three, 3)); }).find("merged") != std::string::npos);
    const at::Tensor labels = ids.clone();
    CHECK(expect_throw<InvalidArgument>([&] { lm.loss({wrap(ids), {}}, wrap(labels), true); }).find("unmerge") != std::string::npos);
    // a new single λ while merged: weights follow it
    lm.set_preference(prefs({1, 0, 0}, 3));
    lm.unmerge_adapters();
    const at::Tensor want_vertex = aten(lm.logits({wrap(ids), {}}));
    lm.merge_adapters();
    CHECK((aten(lm.logits({wrap(ids), {}})) - want_vertex).abs().max().item<double>() < 1e-4);
    for (int i = 0; i < 5; ++i) {  // preference switches do not drift
      lm.set_preference(prefs({0.1 * i, 1 - 0.1 * i, 0}, 3));
    }
    lm.unmerge_adapters();
    CHECK(same_bits(lm, w0));

    // the simplex
    auto refused = [&](std::vector<double> flat, int64_t m) { return expect_throw<InvalidArgument>([&] { lm.set_preference(prefs(flat, m)); }); };
    CHECK(refused({0.5, 0.5}, 2).find("m = 3") != std::string::npos);
    CHECK(refused({0.5, 0.7, -0.2}, 3).find("negative") != std::string::npos);
    CHECK(refused({0.5, std::nan(""), 0.5}, 3).find("not finite") != std::string::npos);
    CHECK(refused({0.5, 0.3, 0.3}, 3).find("sums to") != std::string::npos);
    CHECK(refused({1, 0, 0, 0.5, 0.3, 0.3}, 3).find("preference row 1") != std::string::npos);
    lm.set_preference(prefs({0.5, 0.5 + 5e-7, 0}, 3));  // within 1e-6
    // training works unmerged: U, V, σ, s all get gradients (λ none, it is not a parameter)
    lm.set_preference(prefs({0.2, 0.3, 0.5}, 3));
    lm.loss({wrap(ids), {}}, wrap(labels), true);
    for (const auto& name : trainable) CHECK(aten(lm.parameter(name)).grad().defined() && aten(lm.parameter(name)).grad().abs().sum().item<double>() > 0);
  }
  // targets that match nothing name the model's projections
  model::CausalLM lm(fixtures() + "/gpt2", config_for("gpt2"), model::LoadOptions{"float32", device(), {}});
  model::SvdLoraOptions o = svd_options(kSvdCases[0]);
  o.target_suffixes = {"c_attn", "q_proj"};
  const std::string msg = expect_throw<InvalidArgument>([&] { lm.add_svd_lora(o); });
  CHECK(msg.find("q_proj") != std::string::npos && msg.find("attn.c_attn") != std::string::npos && msg.find("mlp.c_fc") != std::string::npos);
  CHECK(!lm.has_adapters());
  o = svd_options(kSvdCases[0]);
  o.preferences = 0;
  CHECK(expect_throw<InvalidArgument>([&] { lm.add_svd_lora(o); }).find("m (the objectives)") != std::string::npos);
}

// Generation: one λ for every prompt runs merged and equals each prompt's greedy decoding by the
// unmerged full forward (no cache); one λ per prompt runs unmerged and equals each prompt alone;
// the weights come back bit for bit and the model's own λ is restored.
void svd_lora_generate() {
  const std::vector<std::vector<int64_t>> prompts{{5, 17, 42}, {99, 3}, {7, 11, 200, 64}};
  const std::vector<std::vector<double>> lambdas{{0.2, 0.3, 0.5}, {1, 0, 0}, {0, 0.5, 0.5}};
  const int64_t steps = 6;
  for (const SvdCase& c : kSvdCases) {
    model::CausalLM lm(fixtures() + "/" + c.model, config_for(c.model), model::LoadOptions{"float32", device(), {}});
    const auto w0 = base_weights(lm);
    lm.add_svd_lora(svd_options(c));
    randomise_svd(lm, 12);
    lm.set_preference(prefs({0, 0, 1}, 3));  // the model's own λ, to be restored
    const at::Tensor own = aten(lm.logits({wrap(at::tensor(prompts[0], at::TensorOptions().dtype(at::kLong)).view({1, -1})), {}}));
    model::GenerateOptions g;
    g.max_new_tokens = steps;
    g.pad_id = 0;
    // reference: greedy decoding by the unmerged full forward, prompt by prompt
    auto reference = [&](const std::vector<int64_t>& prompt, const std::vector<double>& lambda) {
      lm.set_preference(prefs(lambda, 3));
      std::vector<int64_t> seq = prompt, out;
      for (int64_t t = 0; t < steps; ++t) {
        const at::Tensor l = aten(lm.logits({wrap(at::tensor(seq, at::TensorOptions().dtype(at::kLong)).view({1, -1})), {}}));
        out.push_back(l[0][static_cast<int64_t>(seq.size()) - 1].argmax().item<int64_t>());
        seq.push_back(out.back());
      }
      return out;
    };
    std::vector<std::vector<int64_t>> want_same, want_rows;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      want_same.push_back(reference(prompts[i], lambdas[0]));
      want_rows.push_back(reference(prompts[i], lambdas[i]));
    }
    lm.set_preference(prefs({0, 0, 1}, 3));
    g.preferences = {lambdas[0], lambdas[0], lambdas[0]};  // merged path
    const auto same = lm.generate(prompts, g, nullptr, {});
    CHECK(same.tokens == want_same);
    CHECK(same_bits(lm, w0));
    g.preferences = lambdas;  // unmerged, one λ per row
    const auto rows = lm.generate(prompts, g, nullptr, {});
    CHECK(rows.tokens == want_rows);
    CHECK(rows.tokens != same.tokens);  // the preference steers generation
    CHECK(same_bits(lm, w0));
    // the model's own λ is back (and unmerged)
    CHECK(at::equal(aten(lm.logits({wrap(at::tensor(prompts[0], at::TensorOptions().dtype(at::kLong)).view({1, -1})), {}})), own));
    // bad preferences: refused before anything changes
    g.preferences = {lambdas[0], lambdas[1]};
    CHECK(expect_throw<InvalidArgument>([&] { lm.generate(prompts, g, nullptr, {}); }).find("one row per prompt") != std::string::npos);
    g.preferences = {lambdas[0], lambdas[1], {0.5, 0.6, 0}};
    CHECK(expect_throw<InvalidArgument>([&] { lm.generate(prompts, g, nullptr, {}); }).find("preference row 2") != std::string::npos);
    CHECK(same_bits(lm, w0));
    // an error in the middle of a merged generation still unmerges
    g.preferences = {};
    const model::StepProgress fail_at_step_2 = [](double done, double) {
      if (done >= 2) throw InvalidArgument("stop here");
    };
    CHECK(expect_throw<InvalidArgument>([&] { lm.generate(prompts, g, nullptr, fail_at_step_2); }) == "stop here");
    CHECK(same_bits(lm, w0));
  }
}

// save -> load reproduces the outputs exactly; another base model, another layout, a truncated or
// corrupted file are refused with the problem named. The fingerprint ignores the load dtype.
void svd_lora_save_load() {
  const auto dir = std::filesystem::temp_directory_path() / "moalign-svd-test";
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "adapter.safetensors").string();
  const at::Tensor ids = at::tensor(std::vector<int64_t>{5, 17, 42, 99, 3, 7, 11, 200}, at::TensorOptions().dtype(at::kLong)).view({2, 4});
  const model::LoadOptions load{"float32", device(), {}};
  model::CausalLM lm(fixtures() + "/gpt2", config_for("gpt2"), load);
  const std::string fp = lm.fingerprint();
  lm.add_svd_lora(svd_options(kSvdCases[0]));
  randomise_svd(lm, 13);
  lm.set_preference(prefs({0.2, 0.3, 0.5, 0.6, 0.4, 0}, 3));
  const at::Tensor want = aten(lm.logits({wrap(ids), {}}));
  lm.set_preference(prefs({0.2, 0.3, 0.5}, 3));
  lm.merge_adapters();
  CHECK(lm.fingerprint() == fp);  // merged: still the base's fingerprint
  CHECK(expect_throw<InvalidArgument>([&] { lm.save_svd_lora(file, {{"k", "9"}}); }).find("reserved") != std::string::npos);
  lm.save_svd_lora(file, {{"objectives", "[\"a\",\"b\",\"c\"]"}});
  lm.unmerge_adapters();

  model::CausalLM again(fixtures() + "/gpt2", config_for("gpt2"), load);
  const auto meta = again.load_svd_lora(file);
  CHECK(meta.at("objectives") == "[\"a\",\"b\",\"c\"]" && meta.at("k") == "2" && meta.at("m") == "3" && meta.at("layout") == "gpt2");
  CHECK(meta.at("fingerprint") == fp);
  CHECK(again.preference_dim() == 3);
  again.set_preference(prefs({0.2, 0.3, 0.5, 0.6, 0.4, 0}, 3));
  CHECK(at::equal(aten(again.logits({wrap(ids), {}})), want));
  CHECK(again.parameter_names(true) == lm.parameter_names(true));

  // another base model: fresh weights of the same layout, and the Llama fixture
  model::CausalLM fresh(fixtures() + "/gpt2", config_for("gpt2"), model::LoadOptions{"float32", device(), 99});
  std::string msg = expect_throw<InvalidArgument>([&] { fresh.load_svd_lora(file); });
  CHECK(msg.find("trained on base model " + fp.substr(0, 12)) != std::string::npos && msg.find(fresh.fingerprint().substr(0, 12)) != std::string::npos);
  CHECK(!fresh.has_adapters());
  model::CausalLM llama(fixtures() + "/llama", config_for("llama"), load);
  msg = expect_throw<InvalidArgument>([&] { llama.load_svd_lora(file); });
  CHECK(msg.find("gpt2 model, this model is llama") != std::string::npos);

  // truncated and corrupted files
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    bytes = s.str();
  }
  const std::string bad = (dir / "bad.safetensors").string();
  auto write_bad = [&](const std::string& b) {
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << b;
    model::CausalLM m(fixtures() + "/gpt2", config_for("gpt2"), load);
    const std::string e = expect_throw<InvalidArgument>([&] { m.load_svd_lora(bad); });
    CHECK(!m.has_adapters());
    return e;
  };
  msg = write_bad(bytes.substr(0, bytes.size() - 100));
  std::printf("truncated: %s\n", msg.c_str());
  CHECK(msg.find("truncated") != std::string::npos);
  std::string flipped = bytes;
  flipped[12] = '#';  // inside the JSON header
  CHECK(!write_bad(flipped).empty());
  std::string nan = bytes;  // the last value (an s) becomes NaN
  const float q = std::nanf("");
  std::memcpy(&nan[nan.size() - 4], &q, 4);
  msg = write_bad(nan);
  CHECK(msg.find("non-finite") != std::string::npos);
  std::filesystem::remove_all(dir);

  // one checkpoint loaded as float32 and as bfloat16, and its bfloat16 copy: one fingerprint
  model::CausalLM l32(fixtures() + "/llama", config_for("llama"), load);
  model::CausalLM l16(fixtures() + "/llama", config_for("llama"), model::LoadOptions{"bfloat16", device(), {}});
  model::CausalLM c16(fixtures() + "/llama-bf16", config_for("llama"), load);
  CHECK(l32.fingerprint() == l16.fingerprint());
  CHECK(l32.fingerprint() == c16.fingerprint());
  CHECK(l32.fingerprint() != fp);
}

// ---- SVD-LoRA dropout and the orthogonality regulariser

// Dropout acts only while a seed is set and under grad mode: logits and a no-seed loss equal the
// dropout-free model's; a seed gives a reproducible, different loss; the option survives save/load.
void svd_lora_dropout() {
  const at::Tensor ids = at::tensor(std::vector<int64_t>{5, 17, 42, 99, 3, 7, 11, 200}, at::TensorOptions().dtype(at::kLong)).view({2, 4});
  const model::Batch batch{wrap(ids), {}};
  const model::LoadOptions load{"float32", device(), {}};
  auto make = [&](double p) {
    auto lm = std::make_unique<model::CausalLM>(fixtures() + "/gpt2", config_for("gpt2"), load);
    model::SvdLoraOptions o = svd_options(kSvdCases[0]);
    o.dropout = p;
    lm->add_svd_lora(o);
    randomise_svd(*lm, 13);
    lm->set_preference(prefs({0.2, 0.3, 0.5}, 3));
    return lm;
  };
  auto plain = make(0), dropped = make(0.5);
  CHECK(dropped->svd_lora_dropout() == 0.5);
  const double want = plain->loss(batch, wrap(ids), false);
  CHECK(at::equal(aten(plain->logits(batch)), aten(dropped->logits(batch))));
  CHECK(dropped->loss(batch, wrap(ids), false) == want);  // grad mode on, but no seed: no dropout
  dropped->set_dropout_seed(7);
  const double a = dropped->loss(batch, wrap(ids), false);
  CHECK(at::equal(aten(plain->logits(batch)), aten(dropped->logits(batch))));  // no grad: no dropout, seed or not
  {
    at::NoGradGuard no_grad;
    CHECK(dropped->loss(batch, wrap(ids), false) == want);
  }
  dropped->set_dropout_seed(7);
  CHECK(dropped->loss(batch, wrap(ids), false) == a);  // reproducible
  dropped->set_dropout_seed(8);
  const double b = dropped->loss(batch, wrap(ids), false);
  std::printf("loss without dropout %.6f, with seed 7 %.6f, seed 8 %.6f\n", want, a, b);
  CHECK(a != want && b != a);
  dropped->set_dropout_seed(std::nullopt);
  CHECK(dropped->loss(batch, wrap(ids), false) == want);
  model::SvdLoraOptions bad = svd_options(kSvdCases[0]);
  bad.dropout = 1;
  model::CausalLM other(fixtures() + "/gpt2", config_for("gpt2"), load);
  CHECK(expect_throw<InvalidArgument>([&] { other.add_svd_lora(bad); }).find("dropout must lie in [0, 1)") != std::string::npos);

  const auto dir = std::filesystem::temp_directory_path() / "moalign-svd-dropout-test";
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "adapter.safetensors").string();
  dropped->save_svd_lora(file, {});
  model::CausalLM again(fixtures() + "/gpt2", config_for("gpt2"), load);
  CHECK(again.load_svd_lora(file).at("dropout") == "0.5");
  CHECK(again.svd_lora_dropout() == 0.5);
  std::filesystem::remove_all(dir);

  // a recomputed (checkpointed) forward would draw other masks than the first
  std::vector<train::PreferenceItem> data{{{{5, 17, 42, 99}, {-100, 17, 42, 99}}, {}, {1, 0, 1}}};
  train::PreferenceTrainOptions t;
  t.objective = "sft";
  t.base.steps = 1;
  t.base.batch_size = 1;
  t.base.activation_checkpointing = true;
  CHECK(expect_throw<InvalidArgument>([&] { train::train_preference(*dropped, data, t, nullptr, nullptr); }).find("activation checkpointing") !=
        std::string::npos);
}

// orthRegWeight w > 0 must reach the gradient (peft#432: a regulariser computed and never added).
// One AdamW step from the same start with w = 0 and w > 0, no clipping or decay: the first step
// moves θ by lr g / (|g| + eps), so each run's gradient g is read back exactly from the move, and
// the two must differ by the analytic 4w U (UᵀU − I) (the same for V); the logged step losses by
// w Σ (‖UᵀU − I‖² + ‖VᵀV − I‖²). Two micro-batches: the term is added once, not per micro-batch.
void svd_lora_orth_reg() {
  model::CausalLM lm(fixtures() + "/gpt2", config_for("gpt2"), model::LoadOptions{"float32", device(), {}});
  lm.add_svd_lora(svd_options(kSvdCases[0]));
  randomise_svd(lm, 21);  // σ, s ≠ 0: the task's gradient of U and V is not zero either
  std::vector<std::pair<std::string, at::Tensor>> start;
  for (const auto& name : lm.parameter_names(true)) start.emplace_back(name, aten(lm.parameter(name)).detach().clone());
  const std::vector<train::PreferenceItem> data{{{{5, 17, 42, 99, 3}, {-100, -100, 42, 99, 3}}, {}, {1, 0, 0.5}},
                                                {{{7, 11, 200, 64}, {-100, 11, 200, 64}}, {}, {0, 1, 1}},
                                                {{{1, 2, 30, 9, 8}, {-100, -100, -100, 9, 8}}, {}, {1, 1, 0}}};
  train::PreferenceTrainOptions t;
  t.objective = "sft";
  t.fixed_preference = {0.2, 0.3, 0.5};
  t.base.steps = 1;
  t.base.batch_size = 2;
  t.base.grad_accum = 2;
  t.base.lr = 0.05;
  t.base.schedule = "constant";
  t.base.max_grad_norm = 0;
  t.base.weight_decay = 0;
  t.base.eps = 1;
  const double w = 0.3;
  const double reg0 = aten(lm.svd_orthogonality()).item<double>();

  // The gradient of every trainable tensor in one step from `start`, and the step's loss.
  auto one_step = [&](double weight) {
    {
      at::NoGradGuard no_grad;
      for (const auto& [name, t0] : start) aten(lm.parameter(name)).copy_(t0);
    }
    t.orth_reg_weight = weight;
    const double loss = train::train_preference(lm, data, t, nullptr, nullptr).train.losses.at(0);
    std::map<std::string, at::Tensor> grads;
    for (const auto& [name, t0] : start) {
      const at::Tensor a = (t0.to(at::kDouble) - aten(lm.parameter(name)).detach().to(at::kDouble)) / t.base.lr;  // g / (|g| + eps)
      grads[name] = a * t.base.eps / (1 - a.abs());
    }
    return std::make_pair(loss, grads);
  };
  const auto [loss0, g0] = one_step(0);
  const auto [loss1, g1] = one_step(w);
  std::printf("step loss %.9f without, %.9f with the regulariser; w·reg %.9f\n", loss0, loss1, w * reg0);
  CHECK(std::abs((loss1 - loss0) - w * reg0) < 1e-5 * std::max(1.0, w * reg0));
  double worst = 0;
  int factors = 0;
  for (const auto& [name, t0] : start) {
    const bool factor = name.find("svd_lora_U") != std::string::npos || name.find("svd_lora_V") != std::string::npos;
    const at::Tensor diff = g1.at(name) - g0.at(name);
    if (!factor) {
      CHECK(diff.abs().max().item<double>() < 1e-6);  // σ and s: untouched by the regulariser
      continue;
    }
    ++factors;
    const at::Tensor f = t0.to(at::kDouble).cpu();                                                        // (d, r)
    const at::Tensor want = 4 * w * at::mm(f, at::mm(f.t(), f) - at::eye(f.size(1), f.options()));  // (d, r)
    const double err = (diff.cpu() - want).abs().max().item<double>() / want.abs().max().item<double>();
    worst = std::max(worst, err);
    CHECK(g0.at(name).abs().max().item<double>() > 1e-4);  // the task's gradient is there too
  }
  std::printf("%d U/V tensors: gradient difference vs 4w F(FᵀF - I), worst relative error %.1e\n", factors, worst);
  CHECK(factors > 0 && worst < 1e-4);

  // no SVD-LoRA: refused, not ignored
  model::CausalLM lora(fixtures() + "/gpt2", config_for("gpt2"), model::LoadOptions{"float32", device(), {}});
  lora.add_lora(model::LoraOptions{{"attn.c_attn"}, 2, 4, 0});
  t.fixed_preference = {1};
  const std::vector<train::PreferenceItem> single{{{{5, 17, 42, 99}, {-100, 17, 42, 99}}, {}, {1}}};
  CHECK(expect_throw<InvalidArgument>([&] { train::train_preference(lora, single, t, nullptr, nullptr); }).find("no SVD-LoRA") != std::string::npos);
}

// GPU time: generation and training on the CPU add nothing to the process's device seconds; on a
// CUDA device each adds a span that is positive and no longer than the call's wall clock.
void device_time() {
  const std::vector<std::vector<int64_t>> prompts{{5, 17, 42}, {99, 3}};
  const std::vector<train::Example> data{{{5, 17, 42, 99}, {-100, 17, 42, 99}}, {{7, 11, 200}, {-100, -100, 200}}};
  model::GenerateOptions g;
  g.max_new_tokens = 4;
  train::TrainOptions t;
  t.steps = 2;
  t.batch_size = 2;
  auto spans = [&](const std::string& on) {
    model::CausalLM lm(fixtures() + "/gpt2", config_for("gpt2"), model::LoadOptions{"float32", on, {}});
    std::vector<std::pair<double, double>> out;  // (device seconds added, wall seconds) per call
    auto timed = [&](auto&& call) {
      const double before = device_seconds();
      const auto start = std::chrono::steady_clock::now();
      call();
      out.emplace_back(device_seconds() - before, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    };
    timed([&] { lm.generate(prompts, g, nullptr, {}); });
    lm.set_full_finetune(true);
    timed([&] { train::train_sft(lm, data, t, nullptr, nullptr); });
    return out;
  };
  for (const auto& [gpu, wall] : spans("cpu")) CHECK(gpu == 0.0 && wall > 0);
  if (!runtime_info().cuda_available) {
    std::printf("device_time: CUDA part skipped: this libtorch has no CUDA or no GPU is visible\n");
    return;
  }
  for (const auto& [gpu, wall] : spans("cuda")) {
    std::printf("device_time: %.4f GPU seconds in a call of %.4f s\n", gpu, wall);
    CHECK(gpu > 0 && gpu <= wall);
  }
}

// GPT-2's GELU (tanh) kernels against float64, forward and backward, over [-12, 12] on a float32
// grid whose size is no multiple of the 16-wide vectors (the tail path runs too). Reference: ATen's
// own float64 gelu for x >= -5; below, 1 + tanh(u) cancels even in float64, so there the exact
// identity 0.5 x (1 + tanh u) = x / (1 + e^{-2u}) in float64 stands in. Forward error is relative:
// under 1e-6 for x > -3; further out it grows as |2u| ulps (~90 at -10), as for any float32
// evaluation of u, since e^{-2u} magnifies u's rounding; below -10, gelu(x) < 1e-36 lies under
// float32's normal range and only has to stay that small. Backward error is absolute (gelu' has a
// zero near -0.75 and is at most 1.13). ATen's float32 tanh kernel is printed alongside: its
// forward is 0 (relative error 1) below about -5.
void gelu_tanh_float64() {
  const at::Tensor x = at::linspace(-12, 12, 240007, at::TensorOptions().dtype(at::kFloat));  // (n)
  const at::Tensor g = at::linspace(-2, 3, x.numel(), at::TensorOptions().dtype(at::kFloat));  // an upstream gradient, not all ones
  const at::Tensor leaf = x.clone().requires_grad_(true);
  const at::Tensor y = model::gelu_tanh(leaf);
  y.backward(g);
  const at::Tensor xd = x.to(at::kDouble), gd = g.to(at::kDouble);
  const at::Tensor aten = xd >= -5;
  const at::Tensor e = at::exp(-xd * (2 * std::sqrt(2 / M_PI)) * (1 + 0.044715 * xd * xd));  // e^{-2u}
  const at::Tensor s = 1 / (1 + e);
  const at::Tensor y_ref = at::where(aten, at::gelu(xd, "tanh"), xd * s);
  const at::Tensor dx_ref = at::where(aten, at::gelu_backward(gd, xd, "tanh"),
                                      gd * (s + xd * s * (e * s) * (2 * std::sqrt(2 / M_PI)) * (1 + 3 * 0.044715 * xd * xd)));
  auto worst = [](const at::Tensor& err, const at::Tensor& where) { return err.masked_select(where).max().item<double>(); };
  const at::Tensor all = x > -100, mid = x > -3, tail = (x <= -3) & (x >= -10), beyond = x < -10;
  const at::Tensor rel = (y.detach().to(at::kDouble) - y_ref).abs() / y_ref.abs().clamp_min(1e-300);
  const at::Tensor rel_aten = (at::gelu(x, "tanh").to(at::kDouble) - y_ref).abs() / y_ref.abs().clamp_min(1e-300);
  const at::Tensor abs_dx = (leaf.grad().to(at::kDouble) - dx_ref).abs();
  const at::Tensor abs_dx_aten = (at::gelu_backward(g, x, "tanh").to(at::kDouble) - dx_ref).abs();
  std::printf("GELU(tanh) forward, relative error for x > -3: %.2e (ATen float32 %.2e); -10 <= x <= -3: %.2e (ATen %.2e)\n", worst(rel, mid),
              worst(rel_aten, mid), worst(rel, tail), worst(rel_aten, tail));
  std::printf("GELU(tanh) backward, absolute error: %.2e (ATen float32 %.2e)\n", worst(abs_dx, all), worst(abs_dx_aten, all));
  CHECK(worst(rel, mid) < 1e-6);
  CHECK(worst(rel, tail) < 3e-5);
  CHECK(worst(y.detach().abs(), beyond) < 1e-36);
  CHECK(worst(abs_dx, all) < 4e-7);
  // any layout: a transposed (non-contiguous) input gives the same numbers as its contiguous copy
  const at::Tensor m = x.narrow(0, 0, 240000).view({400, 600});
  CHECK(at::equal(model::gelu_tanh(m.t()), model::gelu_tanh(m.t().contiguous())));
  // the same numbers on one thread and on two (the kernels cut the elements into chunks)
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const at::Tensor one = model::gelu_tanh(x);
  at::set_num_threads(2);
  CHECK(at::equal(model::gelu_tanh(x), one));
  at::set_num_threads(threads);
}


// The causal attention kernel (model/causal_attention.h) against the formula in float64 and
// against ATen's float32 SDPA, forward and backward, at sequence lengths that exercise partial
// query blocks and partial 16-lane rows (1, 45, 100) and the longest served (256); the same numbers
// on one thread and two, without a gradient, and through the differentiable fallback
// (create_graph). It declines what it does not serve.
void causal_attention_float64() {
  const int64_t B = 3, C = 96, H = 3, D = C / H;
  at::manual_seed(7);
  // y for qkv (B, T, 3C) by the formula: softmax(q k^T / sqrt(D), keys <= query) v, per head
  auto formula = [&](const at::Tensor& qkv) {
    const int64_t T = qkv.size(1);
    auto heads = [&](int64_t part) { return qkv.narrow(2, part * C, C).reshape({B, T, H, D}).transpose(1, 2); };
    const at::Tensor future = at::ones({T, T}, at::TensorOptions().dtype(at::kBool)).triu(1);
    const at::Tensor p = at::softmax(at::matmul(heads(0), heads(1).transpose(-2, -1)).div(std::sqrt(double(D))).masked_fill(future, -INFINITY), -1);
    return at::matmul(p, heads(2)).transpose(1, 2).reshape({B, T, C});
  };
  auto sdpa = [&](const at::Tensor& qkv) {
    const int64_t T = qkv.size(1);
    auto heads = [&](int64_t part) { return qkv.narrow(2, part * C, C).reshape({B, T, H, D}).transpose(1, 2); };
    return at::scaled_dot_product_attention(heads(0), heads(1), heads(2), std::nullopt, 0.0, true).transpose(1, 2).reshape({B, T, C});
  };
  // y and dqkv of f at x (float32 or float64) for the upstream gradient g
  auto run = [](const std::function<at::Tensor(const at::Tensor&)>& f, const at::Tensor& x, const at::Tensor& g) {
    const at::Tensor leaf = x.detach().clone().requires_grad_(true);
    const at::Tensor y = f(leaf);
    y.backward(g.to(x.scalar_type()));
    return std::make_pair(y.detach().to(at::kDouble), leaf.grad().to(at::kDouble));
  };
  auto ours = [&](const at::Tensor& x) { return model::causal_attention(x, H); };
  for (const int64_t T : {1, 45, 100, 256}) {
    const at::Tensor x = at::randn({B, T, 3 * C}) * 2, g = at::randn({B, T, C});
    const auto [y_ref, dx_ref] = run(formula, x.to(at::kDouble), g);
    const auto [y, dx] = run(ours, x, g);
    const auto [y_aten, dx_aten] = run(sdpa, x, g);
    const double ey = (y - y_ref).abs().max().item<double>(), edx = (dx - dx_ref).abs().max().item<double>();
    const double ey_aten = (y_aten - y_ref).abs().max().item<double>(), edx_aten = (dx_aten - dx_ref).abs().max().item<double>();
    std::printf("causal attention T %3lld: max error y %.2e (ATen SDPA float32 %.2e), dqkv %.2e (ATen %.2e)\n", static_cast<long long>(T), ey, ey_aten,
                edx, edx_aten);
    // inputs of scale 2 (|x| up to ~8): float32 rounding of the order of ATen's own (4e-6 to 3e-5)
    CHECK(ey < 2e-5);
    CHECK(edx < 5e-5);
    // the same numbers on one thread and two (heads are split between threads, each whole on one)
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    const auto one = run(ours, x, g);
    at::set_num_threads(2);
    const auto two = run(ours, x, g);
    at::set_num_threads(threads);
    CHECK(at::equal(one.first, two.first) && at::equal(one.second, two.second));
    // without a gradient: the same forward, no probabilities kept
    {
      at::NoGradGuard no_grad;
      CHECK(at::equal(model::causal_attention(x, H).to(at::kDouble), y));
    }
  }
  // a backward that is itself differentiated takes the ATen formula: same first derivative, and
  // a second one exists
  const at::Tensor x = at::randn({B, 20, 3 * C}).requires_grad_(true), g = at::randn({B, 20, C});
  const at::Tensor dx = torch::autograd::grad({model::causal_attention(x, H)}, {x}, {g}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  CHECK((dx.detach() - run(ours, x.detach(), g).second.to(at::kFloat)).abs().max().item<double>() < 1e-5);
  CHECK(dx.requires_grad());
  const at::Tensor ddx = torch::autograd::grad({(dx * dx).sum()}, {x})[0];
  CHECK(ddx.defined() && ddx.abs().sum().item<double>() > 0);
  // declines: float64, T > 256, a width that the heads do not divide
  CHECK(!model::causal_attention(at::randn({1, 8, 3 * C}, at::TensorOptions().dtype(at::kDouble)), H).defined());
  CHECK(!model::causal_attention(at::randn({1, 257, 3 * C}), H).defined());
  CHECK(!model::causal_attention(at::randn({1, 8, 3 * C}), 5).defined());
}
}  // namespace

const std::map<std::string, std::function<void()>>& engine_test_cases() {
  static const std::map<std::string, std::function<void()>> cases{{"engine_parity", engine_parity},
                                                                       {"device_time", device_time},
                                                                       {"gelu_tanh_float64", gelu_tanh_float64},
                                                                       {"causal_attention_float64", causal_attention_float64},
                                                                       {"lora_soup", lora_soup},
                                                                       {"svd_lora_gradcheck", svd_lora_gradcheck},
                                                                       {"svd_lora_float32_kernels", svd_lora_float32_kernels},
                                                                       {"svd_lora_model", svd_lora_model},
                                                                       {"svd_lora_generate", svd_lora_generate},
                                                                       {"svd_lora_save_load", svd_lora_save_load},
                                                                       {"svd_lora_dropout", svd_lora_dropout},
                                                                       {"svd_lora_orth_reg", svd_lora_orth_reg}};
  return cases;
}
