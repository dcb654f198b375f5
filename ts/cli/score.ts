import type { Command } from 'commander';
import { addModelOptions, type ModelCliOptions, pairRecord, positiveInt, readJsonl, writeJsonl } from './engine-common.js';

interface ScoreCliOptions extends ModelCliOptions {
  data: string;
  batchSize: number;
}

export function registerScore(program: Command): void {
  const cmd = program
    .command('score')
    .description(
      "reward-model score of each (prompt, response): the reward head's (first) output at the last token of prompt + response; one JSON line {\"score\"} per pair on stdout, in input order",
    )
    .requiredOption('--data <file>', 'JSONL, one {"prompt": "...", "response": "..."} per line (- for stdin)');
  addModelOptions(cmd, 'a *ForSequenceClassification model folder: config.json, model.safetensors, tokenizer.json')
    .option('--batch-size <n>', 'pairs per batch', positiveInt, 16)
    .action(async (opts: ScoreCliOptions) => {
      const pairs = readJsonl(opts.data, pairRecord);
      const { RewardModel } = await import('../engine/index.js');
      using rm = await RewardModel.load(opts.model, { dtype: opts.dtype, device: opts.device });
      for (let i = 0; i < pairs.length; i += opts.batchSize) {
        writeJsonl(rm.score(pairs.slice(i, i + opts.batchSize), { batchSize: opts.batchSize }).map((score) => ({ score })));
      }
    });
}
