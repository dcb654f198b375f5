// The reduced built-in task the method tests run on (a 2-layer width-64 base model pretrained for
// 100 steps, 60 training and 12 test prompts), and the tiny training and evaluation settings they
// share. Each test file builds its own copy in its temporary folder.
import { join } from 'node:path';
import { buildTask, DEFAULT_TASK } from '../../ts/task/build.js';

/** Builds the small task into `<tmp>/task` (base model cached in `<tmp>/cache`); returns the task folder. */
export async function buildSmallTask(tmp: string): Promise<string> {
  const task = join(tmp, 'task');
  await buildTask(
    task,
    {
      prompts: { train: 60, test: 12, seed: 0 },
      baseModel: {
        tokenizer: { kind: 'bpe', vocabSize: 1024 },
        model: { layers: 2, width: 64, heads: 2, context: 40 },
        training: { ...DEFAULT_TASK.baseModel.training, steps: 100, batchSize: 16, warmupSteps: 10 },
      },
      pool: { ...DEFAULT_TASK.pool, temperatures: [0.9], steering: { strengths: [4], temperature: 1.0 }, maxNewTokens: 12 },
    },
    { cacheRoot: join(tmp, 'cache') },
  );
  return task;
}

/** A few LoRA steps: enough to move the model, quick enough for a test. */
export const TINY_TRAINING = { steps: 6, batchSize: 4, lr: 5e-3, schedule: 'linear', warmupSteps: 0, weightDecay: 0, maxGradNorm: 1, seed: 1, lora: { rank: 4, alpha: 8 } } as const;

/** Evaluation on 8 test prompts with 12-token responses. */
export const TINY_EVALUATION = { enabled: true, maxNewTokens: 12, temperature: 1.0, topP: 0.9, seed: 0, limit: 8 } as const;
