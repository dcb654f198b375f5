// Supervised fine-tuning of a CausalLM on tokenised examples, entirely in native code: batching
// with right padding, causal-LM loss on response tokens only (labels -100 elsewhere), gradient
// accumulation and clipping, AdamW with warm-up and linear/cosine decay, atomic checkpoints and
// exact resume (weights, optimiser moments, step and data position). Torch-free header.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/model/causal_lm.h"

namespace moalign::train {

// One example: token ids and labels of the same length; labels are -100 where no loss is taken.
struct Example {
  std::vector<int32_t> ids, labels;
};

struct TrainOptions {
  int64_t steps = 100;            // optimiser steps
  int64_t batch_size = 8;         // examples per micro-batch
  int64_t grad_accum = 1;         // micro-batches per step
  double lr = 1e-4;
  int64_t warmup_steps = 0;
  std::string schedule = "linear";  // linear | cosine | constant (after warm-up)
  double min_lr_ratio = 0.0;        // decay floor, as a fraction of lr
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double max_grad_norm = 1.0;       // 0: no clipping
  uint64_t seed = 0;                // data order
  int64_t pad_id = 0;
  std::string checkpoint_dir;       // "" = no checkpoints
  int64_t checkpoint_every = 0;     // steps; 0 = only at the end
  bool resume = true;               // continue from checkpoint_dir's checkpoint when present
  std::string autocast;             // "" (off) or "bfloat16": mixed precision on the model's device
  bool activation_checkpointing = false;  // recompute block activations in backward (less memory)
};

struct StepStats {
  int64_t step, steps;
  double loss, lr, grad_norm, tokens_per_second, elapsed_seconds;
};
using TrainProgress = std::function<void(const StepStats&)>;

struct TrainReport {
  std::vector<double> losses;   // one per optimiser step, from the first step ever (resume included)
  int64_t start_step = 0;       // where this call began (> 0 after a resume)
  int64_t tokens = 0;           // label tokens seen by this call
  double seconds = 0;
};

// Learning rate at optimiser step `step` (0-based) of `steps`.
double learning_rate(const TrainOptions& o, int64_t step);

// ---- Preference training: DPO and multi-objective (Panacea) training on one loop.
//
// Each item carries m per-objective labels. DPO: a pair (a = `chosen`, b = `rejected`) with
// o_i ∈ {+1 (a wins on objective i), -1 (b wins), 0 (tie / unlabelled)}; L_i is the mean over the
// items with o_i ≠ 0 of -log σ(o_i β [(log π(a) - log π_ref(a)) - (log π(b) - log π_ref(b))]),
// log-probs summed over response tokens, π_ref the model with its adapters switched off. SFT: an
// example (`chosen`; `rejected` empty) with weights w_i ≥ 0 (0: not in D_i); L_i is the w-weighted
// mean of the items' mean response NLL. The m losses are aggregated with the step's λ (design:
// ../shared/design/panacea.md §6; the loss functions are in preference_loss.h). Plain DPO is m = 1
// with a fixed λ = (1).
//
// With SVD-LoRA (model.preference_dim() = m > 0) λ is also written into the model before every
// micro-batch's forward passes ((m), or (B, m) under lambda_per sample); otherwise it only weights
// the losses. An objective that no item of a micro-batch carries is left out of that micro-batch's
// sum or max and counted in missing_objective_events. Everything is checked before the first
// step; an item with no non-zero label (no objective would use it) is an error, not skipped.
// Checkpoints are train_sft's plus, in state.json, the objective, m, and the λ and objective-loss
// logs, so that a resumed run continues both (λ is drawn from (seed, step, row), not replayed).
struct PreferenceItem {
  Example chosen, rejected;
  std::vector<double> labels;  // (m)
};

struct PreferenceTrainOptions {
  TrainOptions base;                   // steps, batch size (items per micro-batch), schedule, checkpoints, ...
  std::string objective = "dpo";       // dpo | sft
  double dpo_beta = 0.1;
  std::string aggregation = "ls";      // ls: Σ λ_i L_i | tche: max_i λ_i (L_i - z_i), smoothed when tche_smoothing > 0
  std::vector<double> tche_ideal;      // z (m), a lower bound of every loss; default zeros
  double tche_smoothing = 0;           // μ: μ log Σ exp(λ_i (L_i - z_i) / μ); 0 = the hard max
  std::string lambda_per = "step";     // step | microbatch | sample (sample: ls only)
  double vertex_prob = 0.1;            // chance of a uniformly drawn one-hot λ instead of Dirichlet(1)
  std::vector<double> fixed_preference;  // set: this λ every step, no sampling (plain DPO: {1})
  // w ≥ 0, SVD-LoRA only: adds w Σ_modules (‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F) (AdaLoRA's orthogonality
  // regulariser, I (r, r)) once to every optimiser step's loss, so its gradient 4w U (UᵀU − I)
  // (and the same for V) joins the step's; the logged step loss includes it, the objective losses
  // do not. 0: off (the design's default). > 0 without SVD-LoRA is an error.
  double orth_reg_weight = 0;
};

struct PreferenceStepStats {
  StepStats step;
  std::vector<double> lambda;           // the step's λ (its first micro-batch's first row under microbatch / sample)
  std::vector<double> objective_losses; // L_i of the step: mean over its micro-batches that carried objective i (else NaN)
};
using PreferenceProgress = std::function<void(const PreferenceStepStats&)>;

struct PreferenceTrainReport {
  TrainReport train;
  std::vector<std::vector<double>> lambdas;           // per optimiser step from step 0 (resume included)
  std::vector<std::vector<double>> objective_losses;  // per step, (m)
  int64_t missing_objective_events = 0;               // micro-batches where some L_i had no item (resume included)
};

TrainReport train_sft(model::CausalLM& model, const std::vector<Example>& data, const TrainOptions& options, const CancelToken* cancel,
                      const TrainProgress& progress);

// Draws λ on the simplex: with probability vertex_prob a uniformly chosen one-hot vertex, else
// Dirichlet(1, …, 1) (E_i = -log U_i, λ = E / ΣE). Deterministic in (seed, step, row).
std::vector<double> sample_preference(int64_t m, double vertex_prob, uint64_t seed, int64_t step, int64_t row);

// DPO needs adapters (the reference is the model with them off); SFT trains whatever is trainable.
PreferenceTrainReport train_preference(model::CausalLM& model, const std::vector<PreferenceItem>& data, const PreferenceTrainOptions& options,
                                       const CancelToken* cancel, const PreferenceProgress& progress);

}  // namespace moalign::train
