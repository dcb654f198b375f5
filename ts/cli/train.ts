import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { TrainProgress, TrainReport } from '../engine/index.js';
import { formatSeconds, ProgressBar } from './progress.js';
import { addModelOptions, commaList, type ModelCliOptions, nonNegativeInt, nonNegativeNumber, pairRecord, positiveInt, positiveNumber, readJsonl } from './engine-common.js';
import { onInterrupt } from './interrupt.js';

interface SftCliOptions extends ModelCliOptions {
  data: string;
  out: string;
  lora?: boolean;
  loraRank: number;
  loraAlpha: number;
  loraTargets?: string[];
  steps: number;
  batchSize: number;
  gradAccum: number;
  lr: number;
  warmup: number;
  schedule: 'linear' | 'cosine' | 'constant';
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  checkpointEvery: number;
  resume: boolean;
  bf16: boolean;
  activationCheckpointing: boolean;
}

const DEFAULT_TARGETS = { gpt2: ['c_attn', 'c_proj', 'c_fc'], llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] };

export function registerTrain(program: Command): void {
  const train = program.command('train').description('fine-tune a causal language model');
  const sft = train
    .command('sft')
    .description(
      'supervised fine-tuning on (prompt, response) pairs, loss on the response tokens. Writes the LoRA adapter (--lora, peft format) or the full model to --out; ' +
        'checkpoints go to <out>/checkpoints and the same command run again resumes from them. Ctrl-C stops at a checkpoint.',
    )
    .requiredOption('--data <file>', 'JSONL, one {"prompt": "...", "response": "..."} per line (- for stdin)')
    .requiredOption('--out <dir>', 'output folder');
  addModelOptions(sft)
    .option('--lora', 'train a LoRA adapter instead of every weight')
    .option('--lora-rank <r>', 'LoRA rank', positiveInt, 8)
    .option('--lora-alpha <a>', 'LoRA alpha (scaling alpha / rank)', positiveNumber, 16)
    .option('--lora-targets <a,b,c>', 'module-name suffixes to adapt (default: c_attn,c_proj,c_fc for GPT-2; q_proj,k_proj,v_proj,o_proj for Llama/Qwen2)', commaList)
    .option('--steps <n>', 'optimiser steps', positiveInt, 100)
    .option('--batch-size <n>', 'examples per micro-batch', positiveInt, 8)
    .option('--grad-accum <n>', 'micro-batches per optimiser step', positiveInt, 1)
    .option('--lr <x>', 'peak learning rate', positiveNumber, 1e-4)
    .option('--warmup <n>', 'linear warm-up steps', nonNegativeInt, 0)
    .addOption(new Option('--schedule <kind>', 'decay after warm-up').choices(['linear', 'cosine', 'constant']).default('linear'))
    .option('--weight-decay <x>', "AdamW's decoupled weight decay", nonNegativeNumber, 0)
    .option('--max-grad-norm <x>', 'clip gradients to this global norm (0: off)', nonNegativeNumber, 1)
    .option('--seed <s>', 'data-order and LoRA-initialisation seed', nonNegativeInt, 0)
    .option('--checkpoint-every <n>', 'also checkpoint every n steps (0: only at the end and on Ctrl-C)', nonNegativeInt, 0)
    .option('--no-resume', 'start afresh even when <out>/checkpoints holds a checkpoint')
    .option('--bf16', 'bf16 autocast for the forward pass (weights and optimiser state stay float32)', false)
    .option('--activation-checkpointing', 'recompute block activations in backward: less memory, about one more forward pass', false)
    .action(async (opts: SftCliOptions) => {
      const pairs = readJsonl(opts.data, pairRecord);
      const { CausalLM, Trainer } = await import('../engine/index.js');
      using lm = await CausalLM.load(opts.model, { dtype: opts.dtype, device: opts.device });
      if (opts.lora) {
        const targets = opts.loraTargets ?? DEFAULT_TARGETS[lm.info.config.layout];
        lm.addLora({ targets, rank: opts.loraRank, alpha: opts.loraAlpha, seed: opts.seed });
      }
      const checkpointDir = join(opts.out, 'checkpoints');
      const trainer = new Trainer(lm, {
        steps: opts.steps,
        batchSize: opts.batchSize,
        gradAccum: opts.gradAccum,
        lr: opts.lr,
        warmupSteps: opts.warmup,
        schedule: opts.schedule,
        weightDecay: opts.weightDecay,
        maxGradNorm: opts.maxGradNorm,
        seed: opts.seed,
        checkpointDir,
        checkpointEvery: opts.checkpointEvery,
        resume: opts.resume,
        autocast: opts.bf16 ? 'bfloat16' : undefined,
        activationCheckpointing: opts.activationCheckpointing,
      });

      const progress = new ProgressReporter(opts.steps, checkpointDir);
      using interrupt = onInterrupt('writing a checkpoint (Ctrl-C again to quit at once)', () => progress.stop());
      let report: TrainReport;
      try {
        report = await trainer.fit(pairs, { onProgress: (p) => progress.update(p), signal: interrupt.signal });
      } catch (err) {
        if (!interrupt.signal.aborted) throw err;
        process.stderr.write(`moalign: stopped; checkpoint in ${checkpointDir}; run the same command again to resume\n`);
        process.exitCode = 130;
        return;
      } finally {
        progress.stop();
      }
      if (report.startStep > 0) progress.resumedFrom(report.startStep);

      if (opts.lora) lm.saveAdapter(opts.out);
      else lm.save(opts.out);
      const { losses } = report;
      const first = losses.length > 0 ? losses[0].toFixed(4) : '-';
      const last = losses.length > 0 ? losses[losses.length - 1].toFixed(4) : '-';
      const steps = opts.steps - report.startStep;
      const ran = steps > 0 ? `trained ${steps} step${steps === 1 ? '' : 's'} in ${report.seconds.toFixed(1)} s` : 'nothing left to train';
      process.stderr.write(`moalign: ${ran}; loss ${first} (step 1) -> ${last} (step ${losses.length}); ${opts.lora ? 'adapter' : 'model'} written to ${opts.out}\n`);
    });
}

/** Training progress on stderr (a ProgressBar), noting once when the run resumed from a checkpoint. */
class ProgressReporter {
  private readonly bar = new ProgressBar('step', 'loss {loss} | lr {lr} | {tps} tok/s');
  private resumeNoted = false;
  private started = false;

  constructor(
    private readonly steps: number,
    private readonly checkpointDir: string,
  ) {}

  resumedFrom(step: number): void {
    if (this.resumeNoted) return;
    this.resumeNoted = true;
    process.stderr.write(`moalign: resuming from the checkpoint in ${this.checkpointDir} at step ${step} of ${this.steps}\n`);
  }

  update(p: TrainProgress): void {
    if (!this.started && p.step > 1) this.resumedFrom(p.step - 1);
    this.started = true;
    this.bar.update(p.step, p.steps, { loss: p.loss.toFixed(4), lr: p.lr.toExponential(2), tps: Math.round(p.tokensPerSecond), remaining: formatSeconds(p.etaSeconds) });
  }

  stop(): void {
    this.bar.stop();
  }
}
