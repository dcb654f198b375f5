// A decoder-only language model (or a reward model: the same body with a classification head)
// loaded from a Hugging Face folder, with optional LoRA adapters. The public face of the engine
// for the N-API layer: no libtorch types here (Tensor is a pimpl handle).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cancel.h"
#include "core/model/config.h"
#include "core/tensor.h"

namespace moalign::model {

struct LoadOptions {
  std::string dtype = "float32";  // compute dtype: float32, bfloat16, float16
  std::string device = "cpu";     // "cpu" or "cuda[:i]"
  // Set: no weights are read; every tensor is drawn fresh from this seed (GPT-2's initialisation,
  // std = config.initializer_range), for a model trained from scratch.
  std::optional<uint64_t> init_seed;
};

struct LoraOptions {
  std::vector<std::string> target_suffixes;  // modules whose name ends with one of these
  int64_t rank = 8;
  double alpha = 16;
  uint64_t seed = 0;  // A ~ kaiming-uniform (peft's default), B = 0
};

// Panacea's SVD-LoRA (design: ../shared/design/panacea.md §2–5): on every target module,
// W(λ) = W0 + c U diag(σ_1..σ_k, s λ_1..s λ_m) V^T with c = alpha / k; U (out, k+m), V (in, k+m),
// σ (k) and the per-matrix scale s learned; λ a buffer set by set_preference, never trained.
struct SvdLoraOptions {
  std::vector<std::string> target_suffixes;  // modules whose name ends with one of these
  int64_t rank = 8;          // k: the free (preference-agnostic) singular values
  int64_t preferences = 2;   // m: the preference slots, one per objective
  double alpha = 512;        // c = alpha / k (k, not k + m)
  uint64_t seed = 0;
  std::string init = "zeroDiag";  // zeroDiag: U, V ~ N(0, 0.02²), σ = s = 0 | kaiming (see the design doc §3)
  // Inverted dropout on the adapter's input x (before x V; the frozen path never sees it), as
  // peft's lora_dropout, in [0, 1). It acts only in the trainers' forward passes (see
  // CausalLM::set_dropout_seed), never in generate, logits, log-probs or a DPO reference pass.
  double dropout = 0;
};

// A token batch: ids (B, T) int64 and attention_mask (B, T) (1 = token, 0 = padding), either side.
struct Batch {
  Tensor ids, attention_mask;
};

struct SequenceLogProbs {
  std::vector<double> sum, mean;   // per row, over label positions (labels != -100, shifted by one)
  std::vector<int64_t> tokens;
};

struct DpoResult {
  double loss;                           // mean over pairs of -log sigmoid(beta * margin)
  std::vector<double> chosen_rewards;    // beta * (policy - reference) summed log-probs
  std::vector<double> rejected_rewards;
};

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  bool greedy = true;
  double temperature = 1.0;
  int64_t top_k = 0;     // 0: off
  double top_p = 1.0;    // 1: off
  uint64_t seed = 0;
  std::vector<int64_t> eos_ids;
  int64_t pad_id = 0;
  // Added to the logits of these token ids before decoding (greedy or sampled), as OpenAI's
  // logit_bias: steers generation toward (> 0) or away from (< 0) chosen tokens.
  std::vector<std::pair<int64_t, double>> logit_bias;
  // SVD-LoRA models only: one preference λ (m values) per prompt, or empty for the model's current
  // preference. When every row shares one λ, the adapters are merged for the generation (base
  // speed) and restored exactly afterwards.
  std::vector<std::vector<double>> preferences;
};

struct GenerateResult {
  std::vector<std::vector<int64_t>> tokens;  // new tokens per prompt, EOS excluded
  std::vector<bool> stopped_at_eos;
  int64_t generated = 0;                     // new tokens over all rows
  double seconds = 0;
};

using StepProgress = std::function<void(double done, double total)>;

class CausalLM {
 public:
  CausalLM(const std::string& dir, const ModelConfig& config, const LoadOptions& options);
  ~CausalLM();
  CausalLM(CausalLM&&) noexcept;
  CausalLM& operator=(CausalLM&&) noexcept;

  const ModelConfig& config() const;

  Tensor logits(const Batch& batch) const;  // (B, T, V), float32 on the CPU
  Tensor scores(const Batch& batch) const;  // (B, num_labels): the score at each row's last token
  // Mean causal-LM loss over labels != -100 (labels (B, T) int64, HF's shift inside). With
  // `backward`, accumulates the gradients of loss * backward_scale.
  double loss(const Batch& batch, const Tensor& labels, bool backward, double backward_scale = 1.0);
  SequenceLogProbs log_probs(const Batch& batch, const Tensor& labels) const;
  // (B) float32 on the model's device: each row's log-prob summed over its label positions, as
  // log_probs' `sum`, but differentiable (under grad mode) for training losses built outside.
  Tensor summed_log_probs(const Batch& batch, const Tensor& labels) const;
  // DPO (Rafailov et al. 2023) on pairs: row i of `chosen` and of `rejected` share a prompt.
  // The policy is the model with its adapters, the reference the same model with them switched
  // off (so the model needs adapters). With `backward`, accumulates the loss's gradients.
  DpoResult dpo_loss(const Batch& chosen, const Tensor& chosen_labels, const Batch& rejected, const Tensor& rejected_labels, double beta,
                     bool backward);
  GenerateResult generate(const std::vector<std::vector<int64_t>>& prompts, const GenerateOptions& options, const CancelToken* cancel,
                          const StepProgress& progress) const;
  // One transformer block alone, for benchmarks and tests of a block: hidden states x (B, T, C) in
  // the compute dtype on the model's device -> x + attention + MLP of block `layer` (B, T, C),
  // causal, no padding, no cache; adapters apply as in a full forward, differentiable under grad
  // mode (x may require grad).
  Tensor block(int64_t layer, const Tensor& x) const;

  // Parameters and gradients under their Hugging Face names (adapter tensors under peft's names).
  std::vector<std::string> parameter_names(bool trainable_only) const;
  Tensor parameter(const std::string& name) const;
  void set_full_finetune(bool trainable);  // base weights trainable (true) or frozen
  void set_activation_checkpointing(bool on);  // recompute block activations in backward

  void add_lora(const LoraOptions& options);
  // peft's adapter_model.safetensors in `dir`, for a config read from adapter_config.json.
  void load_lora(const std::string& dir, const LoraOptions& options);
  // Weight soups: W += scale * (alpha / r) B A for every module of the peft adapter in `dir`
  // (A (r, in), B (out, r); Conv1D's transposed storage handled), folded into the base weights
  // with no adapter attached. Calls with weights w_i give W0 + sum_i w_i dW_i (Rewarded Soups'
  // interpolation of LoRA experts). Nothing changes when a module's tensors are missing or misfit.
  void merge_lora_from(const std::string& dir, const LoraOptions& options, double scale);
  void save_lora(const std::string& file) const;
  void set_adapters_enabled(bool enabled);
  void merge_adapters();
  void unmerge_adapters();
  bool has_adapters() const;

  // ---- Panacea's SVD-LoRA (SvdLoraOptions above)
  void add_svd_lora(const SvdLoraOptions& options);
  // λ: (m) or (1, m) for every row, or (B, m), one per row of the next forward passes (whose
  // batches must then have B rows). Every row must lie on the simplex within 1e-6 (non-negative,
  // summing to 1) and have length m; errors name the row and the problem. λ is a buffer, never a
  // parameter. Merged adapters follow a new single λ (W0 restored exactly, then merged again);
  // per-row λ on merged adapters is an error, as is training them (loss/dpo_loss with backward).
  void set_preference(const Tensor& lambda);
  int64_t preference_dim() const;  // m, or 0 without SVD-LoRA
  double svd_lora_dropout() const;  // SvdLoraOptions::dropout, or 0 without SVD-LoRA
  // SVD-LoRA dropout acts while a seed is set, and then only in forward passes under grad mode,
  // its masks drawn from that seed's stream; unset (the default), never. The trainers set one per
  // micro-batch from (seed, step, micro-batch), so runs and resumes are reproducible, and unset it
  // when they end. A no-op without SVD-LoRA dropout.
  void set_dropout_seed(std::optional<uint64_t> seed);
  // Σ over the SVD-LoRA modules of ‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F (AdaLoRA's orthogonality
  // regulariser, I (r, r)): a scalar on the model's device, differentiable in U and V (its
  // gradient is 4 U (UᵀU − I), and the same for V). Error without SVD-LoRA.
  Tensor svd_orthogonality() const;
  // The adapters' tensors in safetensors, as parameter_names() gives them:
  // base_model.model.<module>.svd_lora_U (out, k+m), _V (in, k+m), _sigma (k), _s (1); λ is not
  // saved. Metadata: format "moalign.svd_lora", k, m, alpha, init, targets (a JSON list), layout
  // ("gpt2" | "llama"), dropout, fingerprint, plus `extra` (e.g. objective names; reserved keys refused).
  // Written atomically.
  void save_svd_lora(const std::string& file, const std::map<std::string, std::string>& extra) const;
  // Attaches the adapters saved by save_svd_lora; refuses a file made for another base model
  // (fingerprint) or layout, naming the mismatch. Returns the file's metadata.
  std::map<std::string, std::string> load_svd_lora(const std::string& file);
  // FNV-1a 64 (16 hex digits) of the base model's configuration and weights: names, shapes and a
  // strided sample (≤ 4096 values per tensor) rounded to bfloat16, so a float32 and a bfloat16 load
  // of one checkpoint agree. Merged weights count as their kept W0.
  std::string fingerprint() const;

  // model.safetensors with the original tensor names, as `dtype` ("" keeps the compute dtype).
  void save(const std::string& file, const std::string& dtype) const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace moalign::model
