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

TrainReport train_sft(model::CausalLM& model, const std::vector<Example>& data, const TrainOptions& options, const CancelToken* cancel,
                      const TrainProgress& progress);

}  // namespace moalign::train
