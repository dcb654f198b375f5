import { Option, type Command } from 'commander';
import { addModelOptions, collect, type ModelCliOptions, nonNegativeInt, positiveInt, positiveNumber, probability, promptRecord, readJsonl, writeJsonl } from './engine-common.js';

interface GenerateCliOptions extends ModelCliOptions {
  prompts: string;
  maxNewTokens: number;
  greedy?: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed: number;
  stop?: string[];
  adapter?: string;
  batchSize: number;
}

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('generate a continuation of each prompt: one JSON line {"prompt", "text", "tokenIds"} per prompt on stdout, in input order')
    .requiredOption('--prompts <file>', 'JSONL, one {"prompt": "..."} per line (- for stdin)');
  addModelOptions(cmd)
    .option('--adapter <dir>', 'a peft LoRA adapter folder to apply')
    .option('--max-new-tokens <n>', 'new tokens at most per prompt (EOS stops a row earlier)', positiveInt, 64)
    .addOption(new Option('--greedy', 'greedy decoding (the default when no sampling option is given)').conflicts(['temperature', 'topP', 'topK']))
    .option('--temperature <t>', 'sample at this temperature', positiveNumber)
    .option('--top-p <p>', 'sample from the smallest set of tokens with this much probability', probability)
    .option('--top-k <k>', 'sample from the k most probable tokens (0: all)', nonNegativeInt)
    .option('--seed <s>', 'sampling seed (batch b, from 0, samples with seed s + b)', nonNegativeInt, 0)
    .option('--stop <text>', 'cut the text before this string (repeatable)', collect)
    .option('--batch-size <n>', 'prompts per batch', positiveInt, 8)
    .action(async (opts: GenerateCliOptions) => {
      const prompts = readJsonl(opts.prompts, promptRecord).map((r) => r.prompt);
      const { CausalLM } = await import('../engine/index.js');
      using lm = await CausalLM.load(opts.model, { dtype: opts.dtype, device: opts.device, adapter: opts.adapter });
      for (let i = 0; i < prompts.length; i += opts.batchSize) {
        const generations = await lm.generate(prompts.slice(i, i + opts.batchSize), {
          maxNewTokens: opts.maxNewTokens,
          greedy: opts.greedy,
          temperature: opts.temperature,
          topK: opts.topK,
          topP: opts.topP,
          seed: opts.seed + i / opts.batchSize,
          stop: opts.stop,
        });
        writeJsonl(generations.map((g) => ({ prompt: g.prompt, text: g.text, tokenIds: g.tokenIds })));
      }
    });
}
