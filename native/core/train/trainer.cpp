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
#include "core/errors.h"
#include "core/model/json_lite.h"
#include "core/model/safetensors.h"
#include "core/train/adamw.h"

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

void check_options(const TrainOptions& o, const std::vector<Example>& data, int64_t context) {
  if (data.empty()) throw InvalidArgument("training data is empty");
  if (o.steps <= 0 || o.batch_size <= 0 || o.grad_accum <= 0) throw InvalidArgument("steps, batchSize and gradAccum must be positive");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw InvalidArgument("lr must be a positive number");
  if (o.schedule != "linear" && o.schedule != "cosine" && o.schedule != "constant") throw InvalidArgument("schedule must be linear, cosine or constant");
  if (!o.autocast.empty() && o.autocast != "bfloat16") throw InvalidArgument("autocast must be bfloat16 or off, not " + o.autocast);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const Example& e = data[i];
    if (e.ids.empty() || e.ids.size() != e.labels.size()) throw InvalidArgument("example " + std::to_string(i) + ": ids and labels must be non-empty and of equal length");
    if (static_cast<int64_t>(e.ids.size()) > context)
      throw InvalidArgument("example " + std::to_string(i) + " has " + std::to_string(e.ids.size()) + " tokens, more than the model's context of " + std::to_string(context));
  }
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

// Right-pads `count` examples from `cursor` into ids / mask / labels (B, T).
struct MicroBatch {
  model::Batch batch;
  Tensor labels;
  int64_t label_tokens = 0;
};
MicroBatch collate(const std::vector<Example>& data, DataOrder& order, int64_t cursor, int64_t count, int64_t pad_id) {
  std::size_t T = 0;
  for (int64_t k = 0; k < count; ++k) T = std::max(T, data[order.at(cursor + k)].ids.size());
  std::vector<int64_t> ids(count * T, pad_id), mask(count * T, 0), labels(count * T, -100);
  MicroBatch mb;
  for (int64_t k = 0; k < count; ++k) {
    const Example& e = data[order.at(cursor + k)];
    for (std::size_t t = 0; t < e.ids.size(); ++t) {
      ids[k * T + t] = e.ids[t];
      mask[k * T + t] = 1;
      labels[k * T + t] = e.labels[t];
      if (t > 0 && e.labels[t] != -100) ++mb.label_tokens;
    }
  }
  const auto opts = at::TensorOptions().dtype(at::kLong);
  const std::vector<int64_t> shape{count, static_cast<int64_t>(T)};
  mb.batch.ids = wrap(at::tensor(ids, opts).view(shape));
  mb.batch.attention_mask = wrap(at::tensor(mask, opts).view(shape));
  mb.labels = wrap(at::tensor(labels, opts).view(shape));
  return mb;
}

// ---- checkpoints: <dir>/checkpoint/{trainable,optimizer}.safetensors + state.json, replaced atomically.

std::string state_json(int64_t step, int64_t cursor, const std::vector<double>& losses, const TrainOptions& o) {
  std::ostringstream s;
  s.precision(17);
  s << "{\"step\":" << step << ",\"cursor\":" << cursor << ",\"seed\":" << o.seed << ",\"batchSize\":" << o.batch_size
    << ",\"gradAccum\":" << o.grad_accum << ",\"losses\":[";
  for (std::size_t i = 0; i < losses.size(); ++i) s << (i ? "," : "") << losses[i];
  s << "]}";
  return s.str();
}

void write_file_synced(const fs::path& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error(path.string() + ": cannot create");
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error(path.string() + ": write failed");
}

void save_checkpoint(const fs::path& dir, const AdamW& opt, int64_t step, int64_t cursor, const std::vector<double>& losses, const TrainOptions& o) {
  fs::create_directories(dir);
  const fs::path tmp = dir / ("checkpoint.tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  model::save_safetensors((tmp / "trainable.safetensors").string(), opt.params(), {{"format", "pt"}});
  model::save_safetensors((tmp / "optimizer.safetensors").string(), opt.state(), {{"format", "pt"}});
  write_file_synced(tmp / "state.json", state_json(step, cursor, losses, o));
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

}  // namespace

TrainReport train_sft(model::CausalLM& model, const std::vector<Example>& data, const TrainOptions& o, const CancelToken* cancel,
                      const TrainProgress& progress) {
  check_options(o, data, model.config().max_positions);
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const std::string& name : model.parameter_names(true)) params.emplace_back(name, aten(model.parameter(name)));
  const at::DeviceType device = params.empty() ? at::kCPU : params.front().second.device().type();
  AdamW opt(params, AdamWOptions{o.beta1, o.beta2, o.eps, o.weight_decay});
  std::vector<at::Tensor> plain;
  for (const auto& [n, p] : params) plain.push_back(p);

  model.set_activation_checkpointing(o.activation_checkpointing);
  struct Restore {
    model::CausalLM& m;
    ~Restore() { m.set_activation_checkpointing(false); }
  } restore{model};
  Resumed r;
  const bool checkpoints = !o.checkpoint_dir.empty();
  if (checkpoints && o.resume) load_checkpoint(o.checkpoint_dir, opt, r, o);
  TrainReport report;
  report.start_step = r.step;
  report.losses = r.losses;
  DataOrder order(data.size(), o.seed);
  int64_t cursor = r.cursor;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t step = r.step; step < o.steps; ++step) {
    if (cancel && cancel->cancelled()) {
      if (checkpoints && step > r.step) save_checkpoint(o.checkpoint_dir, opt, step, cursor, report.losses, o);
      throw Cancelled();
    }
    opt.zero_grad();
    double step_loss = 0;
    for (int64_t k = 0; k < o.grad_accum; ++k) {
      const MicroBatch mb = collate(data, order, cursor, o.batch_size, o.pad_id);
      cursor += o.batch_size;
      if (mb.label_tokens == 0) continue;  // a micro-batch of prompts only: nothing to learn from
      const Autocast autocast(o.autocast, device);
      step_loss += model.loss(mb.batch, mb.labels, true, 1.0 / static_cast<double>(o.grad_accum)) / static_cast<double>(o.grad_accum);
      report.tokens += mb.label_tokens;
    }
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
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (checkpoints && o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0 && step + 1 < o.steps)
      save_checkpoint(o.checkpoint_dir, opt, step + 1, cursor, report.losses, o);
    if (progress)
      progress(StepStats{step + 1, o.steps, step_loss, lr, grad_norm, elapsed > 0 ? static_cast<double>(report.tokens) / elapsed : 0, elapsed});
  }
  if (checkpoints) save_checkpoint(o.checkpoint_dir, opt, o.steps, cursor, report.losses, o);
  opt.zero_grad();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace moalign::train
