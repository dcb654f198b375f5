#include "core/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/tensor.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>
#include <sstream>

#include "core/aten_bridge.h"
#include "core/device_time.h"
#include "core/errors.h"
#include "core/simplex.h"
#include "core/model/json_lite.h"
#include "core/model/safetensors.h"
#include "core/train/adamw.h"
#include "core/train/cpu_block_cache.h"
#include "core/train/preference_loss.h"

namespace moalign::train {

namespace fs = std::filesystem;

double learning_rate(const TrainOptions& o, int64_t step) {
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  if (o.schedule == "constant") return o.lr;
  const double span = static_cast<double>(std::max<int64_t>(1, o.steps - o.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / span);
  const double floor = o.lr * o.min_lr_ratio;
  if (o.schedule == "cosine") return floor + (o.lr - floor) * 0.5 * (1 + std::cos(M_PI * progress));
  return o.lr - (o.lr - floor) * progress;  // linear
}

namespace {

// Mixed precision for the forward pass (matmuls in bf16, reductions in fp32, as torch.autocast
// does) while it is in scope; weights, gradients and optimiser state stay fp32.
class Autocast {
 public:
  Autocast(const std::string& dtype, at::DeviceType device) : device_(device), on_(!dtype.empty()) {
    if (!on_) return;
    was_ = at::autocast::is_autocast_enabled(device_);
    at::autocast::set_autocast_dtype(device_, at::kBFloat16);
    at::autocast::set_autocast_enabled(device_, true);
    at::autocast::increment_nesting();
  }
  ~Autocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_, was_);
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  at::DeviceType device_;
  bool on_, was_ = false;
};

void check_train_options(const TrainOptions& o) {
  if (o.steps <= 0 || o.batch_size <= 0 || o.grad_accum <= 0) throw InvalidArgument("steps, batchSize and gradAccum must be positive");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw InvalidArgument("lr must be a positive number");
  if (o.schedule != "linear" && o.schedule != "cosine" && o.schedule != "constant") throw InvalidArgument("schedule must be linear, cosine or constant");
  if (!o.autocast.empty() && o.autocast != "bfloat16") throw InvalidArgument("autocast must be bfloat16 or off, not " + o.autocast);
}

void check_example(const Example& e, const std::string& what, int64_t context) {
  if (e.ids.empty() || e.ids.size() != e.labels.size()) throw InvalidArgument(what + ": ids and labels must be non-empty and of equal length");
  if (static_cast<int64_t>(e.ids.size()) > context)
    throw InvalidArgument(what + " has " + std::to_string(e.ids.size()) + " tokens, more than the model's context of " + std::to_string(context));
}

// Label tokens that carry a loss: positions t > 0 (the first token predicts nothing) with label != -100.
int64_t label_tokens(const Example& e) {
  int64_t n = 0;
  for (std::size_t t = 1; t < e.labels.size(); ++t) n += e.labels[t] != -100;
  return n;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The seed of micro-batch k of `step`'s random stream (dropout masks): independent of what came
// before, so a resumed run draws what an uninterrupted one would.
uint64_t stream_seed(uint64_t seed, int64_t step, int64_t k) {
  return splitmix64(seed ^ splitmix64(static_cast<uint64_t>(step) * 0x10001ULL ^ splitmix64(static_cast<uint64_t>(k) + 0xd509)));
}

// Example order: a fresh seeded permutation per epoch (Fisher-Yates on mt19937_64, so the
// order is the same on every platform); `cursor` counts examples consumed since step 0.
class DataOrder {
 public:
  DataOrder(std::size_t n, uint64_t seed) : n_(n), seed_(seed) {}
  std::size_t at(int64_t cursor) {
    const int64_t epoch = cursor / static_cast<int64_t>(n_);
    if (epoch != epoch_) {
      perm_.resize(n_);
      for (std::size_t i = 0; i < n_; ++i) perm_[i] = i;
      std::mt19937_64 rng(seed_ * 1000003ULL + static_cast<uint64_t>(epoch));
      for (std::size_t i = n_ - 1; i > 0; --i) std::swap(perm_[i], perm_[rng() % (i + 1)]);
      epoch_ = epoch;
    }
    return perm_[static_cast<std::size_t>(cursor % static_cast<int64_t>(n_))];
  }

 private:
  std::size_t n_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  std::vector<std::size_t> perm_;
};

// Right-pads `rows` into ids / mask / labels (B, T).
struct MicroBatch {
  model::Batch batch;
  Tensor labels;
  int64_t label_tokens = 0;
};
MicroBatch collate(const std::vector<const Example*>& rows, int64_t pad_id) {
  const int64_t count = static_cast<int64_t>(rows.size());
  std::size_t T = 0;
  for (const Example* e : rows) T = std::max(T, e->ids.size());
  std::vector<int64_t> ids(count * T, pad_id), mask(count * T, 0), labels(count * T, -100);
  MicroBatch mb;
  for (int64_t k = 0; k < count; ++k) {
    const Example& e = *rows[k];
    for (std::size_t t = 0; t < e.ids.size(); ++t) {
      ids[k * T + t] = e.ids[t];
      mask[k * T + t] = 1;
      labels[k * T + t] = e.labels[t];
    }
    mb.label_tokens += label_tokens(e);
  }
  const auto opts = at::TensorOptions().dtype(at::kLong);
  const std::vector<int64_t> shape{count, static_cast<int64_t>(T)};
  mb.batch.ids = wrap(at::tensor(ids, opts).view(shape));
  mb.batch.attention_mask = wrap(at::tensor(mask, opts).view(shape));
  mb.labels = wrap(at::tensor(labels, opts).view(shape));
  return mb;
}

// ---- checkpoints: <dir>/checkpoint/{trainable,optimizer}.safetensors + state.json, replaced atomically.

// `extra`: more members (",\"key\":value...") from the training method; train_sft adds none.
std::string state_json(int64_t step, int64_t cursor, const std::vector<double>& losses, const TrainOptions& o, const std::string& extra) {
  std::ostringstream s;
  s.precision(17);
  s << "{\"step\":" << step << ",\"cursor\":" << cursor << ",\"seed\":" << o.seed << ",\"batchSize\":" << o.batch_size
    << ",\"gradAccum\":" << o.grad_accum << ",\"losses\":[";
  for (std::size_t i = 0; i < losses.size(); ++i) s << (i ? "," : "") << losses[i];
  s << "]" << extra << "}";
  return s.str();
}

void write_file_synced(const fs::path& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error(path.string() + ": cannot create");
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error(path.string() + ": write failed");
}

void save_checkpoint(const fs::path& dir, const AdamW& opt, int64_t step, int64_t cursor, const std::vector<double>& losses, const TrainOptions& o,
                     const std::string& extra) {
  fs::create_directories(dir);
  const fs::path tmp = dir / ("checkpoint.tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  model::save_safetensors((tmp / "trainable.safetensors").string(), opt.params(), {{"format", "pt"}});
  model::save_safetensors((tmp / "optimizer.safetensors").string(), opt.state(), {{"format", "pt"}});
  write_file_synced(tmp / "state.json", state_json(step, cursor, losses, o, extra));
  // Keep the previous checkpoint until the new one is in place: a crash leaves one or the other.
  const fs::path current = dir / "checkpoint", old = dir / "checkpoint.old";
  fs::remove_all(old);
  if (fs::exists(current)) fs::rename(current, old);
  fs::rename(tmp, current);
  fs::remove_all(old);
}

struct Resumed {
  int64_t step = 0, cursor = 0;
  std::vector<double> losses;
  json::Value state;  // the whole state.json, for the method's own members
};

bool load_checkpoint(const fs::path& dir, AdamW& opt, Resumed& r, const TrainOptions& o) {
  fs::path ck = dir / "checkpoint";
  if (!fs::exists(ck / "state.json")) ck = dir / "checkpoint.old";  // interrupted between the two renames
  if (!fs::exists(ck / "state.json")) return false;
  std::ifstream in(ck / "state.json");
  std::stringstream text;
  text << in.rdbuf();
  json::Value st;
  try {
    st = json::parse(text.str(), (ck / "state.json").string());
  } catch (const std::runtime_error& e) {
    throw InvalidArgument(std::string(e.what()) + " (corrupt checkpoint)");
  }
  auto num = [&](const char* key) {
    const json::Value* v = st.find(key);
    if (!v || !v->is_number()) throw InvalidArgument((ck / "state.json").string() + ": missing " + key + " (corrupt checkpoint)");
    return v->number;
  };
  if (static_cast<int64_t>(num("batchSize")) != o.batch_size || static_cast<int64_t>(num("gradAccum")) != o.grad_accum ||
      static_cast<uint64_t>(num("seed")) != o.seed)
    throw InvalidArgument(ck.string() + ": was written with another batch size, accumulation or seed; resume with the same options or start a new run");
  r.step = static_cast<int64_t>(num("step"));
  r.state = st;
  r.cursor = static_cast<int64_t>(num("cursor"));
  if (const json::Value* l = st.find("losses"))
    for (const json::Value& x : l->array) r.losses.push_back(x.number);
  at::NoGradGuard no_grad;
  const model::SafetensorsFile weights((ck / "trainable.safetensors").string());
  for (const auto& [name, p] : opt.params()) {
    if (!weights.contains(name)) throw InvalidArgument(ck.string() + ": checkpoint lacks trainable tensor " + name);
    at::Tensor(p).copy_(weights.tensor(name, p.scalar_type()));
  }
  const model::SafetensorsFile state((ck / "optimizer.safetensors").string());
  std::vector<std::pair<std::string, at::Tensor>> moments;
  for (const auto& [name, e] : state.entries()) moments.emplace_back(name, state.tensor(name, at::kFloat));
  opt.load_state(moments, r.step);
  return true;
}


// ---- the optimisation loop, shared by every training method

// What one micro-batch gave: its loss (before the 1 / grad_accum scaling) and its label tokens.
// A micro-batch with nothing to learn from returns zeros and accumulates no gradient.
struct MicroResult {
  double loss = 0;
  int64_t tokens = 0;
};

// What a training method plugs into run_training.
struct Method {
  // Micro-batch k of optimiser step `step` over the data items `rows`: accumulates the gradients
  // of its loss times `scale` (= 1 / grad_accum).
  std::function<MicroResult(int64_t step, int64_t k, const std::vector<std::size_t>& rows, double scale)> micro_batch;
  // After the update of `step`, before its checkpoint: the method logs what it saw.
  std::function<void(int64_t step)> step_done;
  // Once per optimiser step, after its micro-batches and before clipping: accumulates the
  // gradients of a term that depends on the parameters only (not on the data) and returns its
  // value, which the step's loss includes. Unset: none.
  std::function<double()> step_regulariser;
  std::function<void(const StepStats&)> progress;
  // More state.json members (",\"key\":value..."), and reading them back on resume.
  std::function<std::string()> state_extra;
  std::function<void(const json::Value& state, const std::string& where, int64_t step)> resume;
};

// AdamW over the model's trainable tensors, warm-up + schedule, gradient accumulation and
// clipping, a clear error on a non-finite loss, cancellation (with a checkpoint), atomic
// checkpoints and exact resume (weights, moments, step, data position and the method's state).
TrainReport run_training(model::CausalLM& model, std::size_t n_items, const TrainOptions& o, const CancelToken* cancel, const Method& method) {
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const std::string& name : model.parameter_names(true)) params.emplace_back(name, aten(model.parameter(name)));
  const at::DeviceType device = params.empty() ? at::kCPU : params.front().second.device().type();
  const DeviceTimeScope device_time(params.empty() ? at::Device(at::kCPU) : params.front().second.device());  // the run's GPU seconds
  AdamW opt(params, AdamWOptions{o.beta1, o.beta2, o.eps, o.weight_decay});
  std::vector<at::Tensor> plain;
  for (const auto& [n, p] : params) plain.push_back(p);

  // A checkpointed block draws its dropout masks again when it recomputes in backward, so the
  // gradients would belong to other masks than the forward's.
  if (o.activation_checkpointing && model.svd_lora_dropout() > 0)
    throw InvalidArgument("SVD-LoRA dropout cannot be combined with activation checkpointing (the recomputed forward would draw other masks); turn one off");
  model.set_activation_checkpointing(o.activation_checkpointing);
  struct Restore {
    model::CausalLM& m;
    ~Restore() {
      m.set_activation_checkpointing(false);
      m.set_dropout_seed(std::nullopt);  // no dropout outside training
    }
  } restore{model};
  Resumed r;
  const bool checkpoints = !o.checkpoint_dir.empty();
  if (checkpoints && o.resume && load_checkpoint(o.checkpoint_dir, opt, r, o) && method.resume)
    method.resume(r.state, (fs::path(o.checkpoint_dir) / "checkpoint").string(), r.step);
  auto save = [&](int64_t step, int64_t cursor, const std::vector<double>& losses) {
    save_checkpoint(o.checkpoint_dir, opt, step, cursor, losses, o, method.state_extra ? method.state_extra() : "");
  };
  // Freed activation and gradient blocks are reused by the next step instead of going back to
  // the system and faulting in again (cpu_block_cache.h).
  const CpuBlockCache block_cache;
  TrainReport report;
  report.start_step = r.step;
  report.losses = r.losses;
  DataOrder order(n_items, o.seed);
  int64_t cursor = r.cursor;
  std::vector<std::size_t> rows(o.batch_size);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t step = r.step; step < o.steps; ++step) {
    if (cancel && cancel->cancelled()) {
      if (checkpoints && step > r.step) save(step, cursor, report.losses);
      throw Cancelled();
    }
    opt.zero_grad();
    double step_loss = 0;
    for (int64_t k = 0; k < o.grad_accum; ++k) {
      for (int64_t j = 0; j < o.batch_size; ++j) rows[j] = order.at(cursor + j);
      cursor += o.batch_size;
      const Autocast autocast(o.autocast, device);
      // Dropout masks from a stream of (seed, step, micro-batch): the same in a resumed run.
      model.set_dropout_seed(stream_seed(o.seed, step, k));
      const MicroResult mr = method.micro_batch(step, k, rows, 1.0 / static_cast<double>(o.grad_accum));
      step_loss += mr.loss / static_cast<double>(o.grad_accum);
      report.tokens += mr.tokens;
    }
    model.set_dropout_seed(std::nullopt);
    if (method.step_regulariser) step_loss += method.step_regulariser();
    if (!std::isfinite(step_loss)) {
      std::string where = checkpoints && fs::exists(fs::path(o.checkpoint_dir) / "checkpoint") ? "; the last good checkpoint is in " + o.checkpoint_dir
                                                                                               : "";
      throw std::runtime_error("training stopped: the loss became " + std::to_string(step_loss) + " at step " + std::to_string(step + 1) +
                               " (learning rate too high?)" + where);
    }
    const double grad_norm = clip_grad_norm(plain, o.max_grad_norm);
    const double lr = learning_rate(o, step);
    opt.step(lr);
    report.losses.push_back(step_loss);
    if (method.step_done) method.step_done(step);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (checkpoints && o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0 && step + 1 < o.steps) save(step + 1, cursor, report.losses);
    if (method.progress)
      method.progress(StepStats{step + 1, o.steps, step_loss, lr, grad_norm, elapsed > 0 ? static_cast<double>(report.tokens) / elapsed : 0, elapsed});
  }
  if (checkpoints) save(o.steps, cursor, report.losses);
  opt.zero_grad();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

TrainReport train_sft(model::CausalLM& model, const std::vector<Example>& data, const TrainOptions& o, const CancelToken* cancel,
                      const TrainProgress& progress) {
  if (data.empty()) throw InvalidArgument("training data is empty");
  check_train_options(o);
  for (std::size_t i = 0; i < data.size(); ++i) check_example(data[i], "example " + std::to_string(i), model.config().max_positions);
  Method sft;
  std::vector<const Example*> batch;
  sft.micro_batch = [&](int64_t, int64_t, const std::vector<std::size_t>& rows, double scale) {
    batch.clear();
    for (std::size_t i : rows) batch.push_back(&data[i]);
    const MicroBatch mb = collate(batch, o.pad_id);
    if (mb.label_tokens == 0) return MicroResult{};  // a micro-batch of prompts only: nothing to learn from
    return MicroResult{model.loss(mb.batch, mb.labels, true, scale), mb.label_tokens};
  };
  sft.progress = progress;
  return run_training(model, data.size(), o, cancel, sft);
}

// ---- preference training (design: ../shared/design/panacea.md §6)

namespace {

std::string join(const std::vector<double>& v) {
  std::ostringstream s;
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
  return s.str();
}

// Checks every option and item before the first step; returns m.
int64_t check_preference(model::CausalLM& model, const std::vector<PreferenceItem>& data, const PreferenceTrainOptions& p) {
  if (data.empty()) throw InvalidArgument("training data is empty");
  check_train_options(p.base);
  const bool dpo = p.objective == "dpo";
  if (!dpo && p.objective != "sft") throw InvalidArgument("objective must be dpo or sft, not " + p.objective);
  if (p.aggregation != "ls" && p.aggregation != "tche") throw InvalidArgument("aggregation must be ls or tche, not " + p.aggregation);
  if (p.lambda_per != "step" && p.lambda_per != "microbatch" && p.lambda_per != "sample")
    throw InvalidArgument("lambdaPer must be step, microbatch or sample, not " + p.lambda_per);
  if (p.lambda_per == "sample" && p.aggregation != "ls")
    throw InvalidArgument("lambdaPer 'sample' works with aggregation 'ls' only: a per-sample Tchebycheff max would estimate another objective than the max over the batch's objective losses");
  if (dpo && !(p.dpo_beta > 0 && std::isfinite(p.dpo_beta))) throw InvalidArgument("dpoBeta must be a positive number");
  if (!(p.vertex_prob >= 0 && p.vertex_prob <= 1)) throw InvalidArgument("vertexProb must lie in [0, 1]");
  if (!(p.tche_smoothing >= 0 && std::isfinite(p.tche_smoothing))) throw InvalidArgument("tcheSmoothing must be a finite number >= 0");
  if (dpo && !model.has_adapters())
    throw InvalidArgument("DPO needs adapters (LoRA or SVD-LoRA): the reference model is this model with its adapters switched off");
  if (!(p.orth_reg_weight >= 0 && std::isfinite(p.orth_reg_weight))) throw InvalidArgument("orthRegWeight must be a finite number >= 0");
  if (p.orth_reg_weight > 0 && model.preference_dim() == 0)
    throw InvalidArgument("orthRegWeight > 0 regularises SVD-LoRA's U and V, but this model has no SVD-LoRA adapters");

  const int64_t m = static_cast<int64_t>(data[0].labels.size());
  if (m == 0) throw InvalidArgument("item 0 has no labels: every item needs one label per objective (plain DPO: [1])");
  const int64_t slots = model.preference_dim();
  if (slots > 0 && slots != m)
    throw InvalidArgument("the items carry " + std::to_string(m) + " objective labels but the model's SVD-LoRA has " + std::to_string(slots) +
                          " preference slots");
  if (!p.tche_ideal.empty()) {
    if (static_cast<int64_t>(p.tche_ideal.size()) != m)
      throw InvalidArgument("tcheIdeal has " + std::to_string(p.tche_ideal.size()) + " values for " + std::to_string(m) + " objectives");
    for (double z : p.tche_ideal)
      if (!std::isfinite(z)) throw InvalidArgument("tcheIdeal must hold finite numbers");
  }
  if (!p.fixed_preference.empty()) {
    if (static_cast<int64_t>(p.fixed_preference.size()) != m)
      throw InvalidArgument("fixedPreference has " + std::to_string(p.fixed_preference.size()) + " values for " + std::to_string(m) + " objectives");
    if (!simplex_problem(p.fixed_preference.data(), m).empty())
      throw InvalidArgument("fixedPreference [" + join(p.fixed_preference) + "] is not on the simplex (entries >= 0 summing to 1)");
  }
  const int64_t context = model.config().max_positions;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const PreferenceItem& item = data[i];
    const std::string name = "item " + std::to_string(i);
    if (static_cast<int64_t>(item.labels.size()) != m)
      throw InvalidArgument(name + " has " + std::to_string(item.labels.size()) + " labels, item 0 has " + std::to_string(m) + ": every item needs one per objective");
    bool any = false;
    for (double l : item.labels) {
      if (dpo && l != -1 && l != 0 && l != 1) throw InvalidArgument(name + ": DPO labels must be -1, 0 or 1, got " + std::to_string(l));
      if (!dpo && !(l >= 0 && std::isfinite(l))) throw InvalidArgument(name + ": SFT weights must be finite and >= 0, got " + std::to_string(l));
      any = any || l != 0;
    }
    // An item no objective uses would only dilute its batches; refusing it keeps the data honest.
    if (!any) throw InvalidArgument(name + " has no non-zero label, so no objective would use it; drop it from the data");
    check_example(item.chosen, name + (dpo ? " (chosen)" : ""), context);
    if (label_tokens(item.chosen) == 0) throw InvalidArgument(name + (dpo ? " (chosen)" : "") + " has no response tokens to score");
    if (dpo) {
      if (item.rejected.ids.empty()) throw InvalidArgument(name + " has no rejected response, which DPO needs");
      check_example(item.rejected, name + " (rejected)", context);
      if (label_tokens(item.rejected) == 0) throw InvalidArgument(name + " (rejected) has no response tokens to score");
    } else if (!item.rejected.ids.empty()) {
      throw InvalidArgument(name + " has a rejected response, which SFT does not use");
    }
  }
  return m;
}

// The adapters are off while this lives (the DPO reference), and on again however it ends.
struct AdaptersOff {
  model::CausalLM& model;
  explicit AdaptersOff(model::CausalLM& m) : model(m) { model.set_adapters_enabled(false); }
  ~AdaptersOff() { model.set_adapters_enabled(true); }
};

std::string json_rows(const std::vector<std::vector<double>>& rows) {
  std::ostringstream s;
  s.precision(17);
  s << "[";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    s << (r ? ",[" : "[");
    for (std::size_t i = 0; i < rows[r].size(); ++i) {
      s << (i ? "," : "");
      if (std::isfinite(rows[r][i])) s << rows[r][i];
      else s << "null";  // NaN: the objective was absent all step
    }
    s << "]";
  }
  s << "]";
  return s.str();
}

std::vector<std::vector<double>> read_rows(const json::Value* v, std::size_t count, const std::string& key, const std::string& where) {
  if (!v || !v->is_array() || v->array.size() < count) throw InvalidArgument(where + ": state.json lacks " + key + " for its steps (corrupt checkpoint)");
  std::vector<std::vector<double>> out;
  for (std::size_t r = 0; r < count; ++r) {
    out.emplace_back();
    for (const json::Value& x : v->array[r].array) out.back().push_back(x.is_number() ? x.number : std::nan(""));
  }
  return out;
}

}  // namespace

std::vector<double> sample_preference(int64_t m, double vertex_prob, uint64_t seed, int64_t step, int64_t row) {
  if (m < 1) throw InvalidArgument("a preference needs m >= 1 objectives");
  if (!(vertex_prob >= 0 && vertex_prob <= 1)) throw InvalidArgument("vertexProb must lie in [0, 1]");
  // A fresh stream per (seed, step, row): a resumed run draws the same λ without replaying earlier steps.
  std::mt19937_64 rng(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(step) ^ splitmix64(static_cast<uint64_t>(row) + 0x5eed))));
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1p-53; };  // [0, 1)
  std::vector<double> lambda(m, 0.0);
  if (uniform() < vertex_prob) {
    lambda[rng() % static_cast<uint64_t>(m)] = 1;
    return lambda;
  }
  // Dirichlet(1, ..., 1): normalised standard exponentials, E_i = -log U_i with U_i in (0, 1).
  double total = 0;
  for (double& e : lambda) {
    e = -std::log((static_cast<double>(rng() >> 11) + 0.5) * 0x1p-53);
    total += e;
  }
  for (double& e : lambda) e /= total;
  return lambda;
}

PreferenceTrainReport train_preference(model::CausalLM& model, const std::vector<PreferenceItem>& data, const PreferenceTrainOptions& p,
                                       const CancelToken* cancel, const PreferenceProgress& progress) {
  const int64_t m = check_preference(model, data, p);
  const TrainOptions& o = p.base;
  const bool dpo = p.objective == "dpo", per_sample = p.lambda_per == "sample", svd = model.preference_dim() > 0;
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  Aggregation aggregation{p.aggregation, p.tche_ideal.empty() ? at::Tensor() : at::tensor(p.tche_ideal, f64), p.tche_smoothing};

  PreferenceTrainReport report;
  std::vector<double> step_lambda, loss_sum(m), loss_count(m);  // the current step's log
  std::vector<const Example*> chosen, rejected;
  Method method;

  // λ of micro-batch k: one row, or one per item under lambda_per sample. Row r of the step is
  // drawn from (seed, step, r): "step" uses row 0 for every micro-batch, "microbatch" the first
  // row of micro-batch k, "sample" each item's own row.
  auto lambda_of = [&](int64_t step, int64_t k, int64_t B) {
    const int64_t rows = per_sample ? B : 1;
    std::vector<double> flat;
    for (int64_t b = 0; b < rows; ++b) {
      const int64_t row = p.lambda_per == "step" ? 0 : k * o.batch_size + b;
      const std::vector<double> l = p.fixed_preference.empty() ? sample_preference(m, p.vertex_prob, o.seed, step, row) : p.fixed_preference;
      flat.insert(flat.end(), l.begin(), l.end());
    }
    return at::tensor(flat, f64).view({rows, m});  // (1, m) or (B, m)
  };

  method.micro_batch = [&](int64_t step, int64_t k, const std::vector<std::size_t>& rows, double scale) {
    const int64_t B = static_cast<int64_t>(rows.size());
    const at::Tensor lambda = lambda_of(step, k, B);  // (1, m) or (B, m)
    if (k == 0) step_lambda.assign(lambda.data_ptr<double>(), lambda.data_ptr<double>() + m);
    // The policy forwards below see this λ (SVD-LoRA); plain LoRA only weights the losses with it.
    if (svd) model.set_preference(wrap(per_sample ? lambda : lambda.squeeze(0)));
    std::vector<double> label_flat;
    chosen.clear();
    rejected.clear();
    for (std::size_t i : rows) {
      chosen.push_back(&data[i].chosen);
      rejected.push_back(&data[i].rejected);
      label_flat.insert(label_flat.end(), data[i].labels.begin(), data[i].labels.end());
    }
    const at::Tensor labels = at::tensor(label_flat, f64).view({B, m});  // (B, m)
    const MicroBatch a = collate(chosen, o.pad_id);
    ObjectiveLosses losses;
    int64_t tokens = a.label_tokens;
    if (dpo) {
      const MicroBatch b = collate(rejected, o.pad_id);
      tokens += b.label_tokens;
      at::Tensor ref_a, ref_b;
      {
        at::NoGradGuard no_grad;
        const AdaptersOff reference(model);
        ref_a = aten(model.summed_log_probs(a.batch, a.labels));  // (B)
        ref_b = aten(model.summed_log_probs(b.batch, b.labels));
      }
      const at::Tensor pol_a = aten(model.summed_log_probs(a.batch, a.labels)), pol_b = aten(model.summed_log_probs(b.batch, b.labels));  // (B)
      losses = dpo_objective_losses(pol_a.to(at::kDouble), pol_b.to(at::kDouble), ref_a.to(at::kDouble), ref_b.to(at::kDouble), labels, p.dpo_beta);
    } else {
      // Each item's mean NLL over its response tokens.
      const at::Tensor& l = aten(a.labels);
      const at::Tensor summed = aten(model.summed_log_probs(a.batch, a.labels)).to(at::kDouble);  // (B)
      const at::Tensor counts = l.narrow(1, 1, l.size(1) - 1).ne(-100).sum(1).to(summed.device(), at::kDouble);  // (B), > 0 (checked)
      const at::Tensor nll = -summed / counts;
      losses = sft_objective_losses(nll, labels);
    }
    const at::Tensor loss = aggregate_losses(losses, lambda, aggregation);
    const at::Tensor present = losses.present.cpu(), objective = losses.losses.detach().cpu();
    if (!present.all().item<bool>()) ++report.missing_objective_events;
    for (int64_t i = 0; i < m; ++i)
      if (present[i].item<bool>()) {
        loss_sum[i] += objective[i].item<double>();
        loss_count[i] += 1;
      }
    if (!present.any().item<bool>()) return MicroResult{0, tokens};  // cannot happen after check_preference: every item has a label
    (loss * scale).backward();
    return MicroResult{loss.item<double>(), tokens};
  };
  // Exactly one w · Σ (‖UᵀU − I‖² + ‖VᵀV − I‖²) per optimiser step, whatever grad_accum is: the
  // micro-batches' losses are averaged (each scaled 1 / grad_accum), the regulariser is added
  // once, unscaled.
  if (p.orth_reg_weight > 0)
    method.step_regulariser = [&] {
      const at::Tensor reg = aten(model.svd_orthogonality()) * p.orth_reg_weight;
      reg.backward();
      return reg.item<double>();
    };
  method.step_done = [&](int64_t) {
    std::vector<double> mean(m);
    for (int64_t i = 0; i < m; ++i) mean[i] = loss_count[i] > 0 ? loss_sum[i] / loss_count[i] : std::nan("");
    report.lambdas.push_back(step_lambda);
    report.objective_losses.push_back(mean);
    std::fill(loss_sum.begin(), loss_sum.end(), 0.0);
    std::fill(loss_count.begin(), loss_count.end(), 0.0);
  };
  if (progress)
    method.progress = [&](const StepStats& s) { progress(PreferenceStepStats{s, report.lambdas.back(), report.objective_losses.back()}); };
  method.state_extra = [&] {
    return ",\"objective\":" + json::quote(p.objective) + ",\"m\":" + std::to_string(m) + ",\"lambdas\":" + json_rows(report.lambdas) +
           ",\"objectiveLosses\":" + json_rows(report.objective_losses) + ",\"missingObjectiveEvents\":" + std::to_string(report.missing_objective_events);
  };
  method.resume = [&](const json::Value& state, const std::string& where, int64_t step) {
    const json::Value *objective = state.find("objective"), *mv = state.find("m");
    if (!objective || !mv || objective->string != p.objective || static_cast<int64_t>(mv->number) != m)
      throw InvalidArgument(where + ": was not written by " + p.objective + " preference training with " + std::to_string(m) +
                            " objectives; resume with the same objective and labels or start a new run");
    report.lambdas = read_rows(state.find("lambdas"), static_cast<std::size_t>(step), "lambdas", where);
    report.objective_losses = read_rows(state.find("objectiveLosses"), static_cast<std::size_t>(step), "objectiveLosses", where);
    if (const json::Value* n = state.find("missingObjectiveEvents")) report.missing_objective_events = static_cast<int64_t>(n->number);
  };
  report.train = run_training(model, data.size(), o, cancel, method);
  return report;
}

}  // namespace moalign::train
