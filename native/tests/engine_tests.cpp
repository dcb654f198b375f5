// The transformer engine without Node: the parity fixtures (test/fixtures/engine, written by
// transformers) loaded through the core, on the CPU or on MOALIGN_TEST_DEVICE (e.g. cuda).
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/tensor.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/aten_bridge.h"
#include "core/model/causal_lm.h"
#include "core/model/json_lite.h"
#include "core/model/safetensors.h"
#include "core/model/soup.h"
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

}  // namespace

const std::map<std::string, std::function<void()>>& engine_test_cases() {
  static const std::map<std::string, std::function<void()>> cases{{"engine_parity", engine_parity}, {"lora_soup", lora_soup}};
  return cases;
}
