import type { Command } from 'commander';
import { addModelOptions, type ModelCliOptions, pairRecord, positiveInt, readJsonl, writeJsonl } from './engine-common.js';

interface LogprobsCliOptions extends ModelCliOptions {
  data: string;
  adapter?: string;
  batchSize: number;
}

export function registerLogprobs(program: Command): void {
  const cmd = program
    .command('logprobs')
    .description(
      'log-probability of each response given its prompt (no EOS appended): one JSON line {"sum", "mean", "tokens"} per pair on stdout, in input order, full double precision',
    )
    .requiredOption('--data <file>', 'JSONL, one {"prompt": "...", "response": "..."} per line (- for stdin)');
  addModelOptions(cmd)
    .option('--adapter <dir>', 'a peft LoRA adapter folder to apply')
    .option('--batch-size <n>', 'pairs per batch', positiveInt, 16)
    .action(async (opts: LogprobsCliOptions) => {
      const pairs = readJsonl(opts.data, pairRecord);
      const { CausalLM } = await import('../engine/index.js');
      using lm = await CausalLM.load(opts.model, { dtype: opts.dtype, device: opts.device, adapter: opts.adapter });
      for (let i = 0; i < pairs.length; i += opts.batchSize) {
        const scores = lm.logProbs(pairs.slice(i, i + opts.batchSize), { batchSize: opts.batchSize });
        writeJsonl(scores.map((s) => ({ sum: s.sum, mean: s.mean, tokens: s.tokens })));
      }
    });
}
