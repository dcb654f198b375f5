// The transformer engine without Node: the parity fixtures (test/fixtures/engine, written by
// transformers) loaded through the core, on the CPU or on MOALIGN_TEST_DEVICE (e.g. cuda).
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/tensor.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/aten_bridge.h"
#include "core/model/causal_lm.h"
#include "core/model/json_lite.h"
#include "core/model/safetensors.h"
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

}  // namespace

const std::map<std::string, std::function<void()>>& engine_test_cases() {
  static const std::map<std::string, std::function<void()>> cases{{"engine_parity", engine_parity}};
  return cases;
}
