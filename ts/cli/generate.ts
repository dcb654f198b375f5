import { Option, type Command } from 'commander';
import type { CausalLM, GenerateOptions } from '../engine/index.js';
import { addModelOptions, collect, type ModelCliOptions, nonNegativeInt, positiveInt, positiveNumber, probability, promptRecord, readJsonl, writeJsonl } from './engine-common.js';

/** The decoding options of `generate` and `panacea generate`. */
export interface DecodingCliOptions {
  prompts: string;
  maxNewTokens: number;
  greedy?: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed: number;
  stop?: string[];
  batchSize: number;
}

interface GenerateCliOptions extends ModelCliOptions, DecodingCliOptions {
  adapter?: string;
}

/** Adds --prompts and the decoding options to a generating command. */
export function addDecodingOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--prompts <file>', 'JSONL, one {"prompt": "..."} per line (- for stdin)')
    .option('--max-new-tokens <n>', 'new tokens at most per prompt (EOS stops a row earlier)', positiveInt, 64)
    .addOption(new Option('--greedy', 'greedy decoding (the default when no sampling option is given)').conflicts(['temperature', 'topP', 'topK']))
    .option('--temperature <t>', 'sample at this temperature', positiveNumber)
    .option('--top-p <p>', 'sample from the smallest set of tokens with this much probability', probability)
    .option('--top-k <k>', 'sample from the k most probable tokens (0: all)', nonNegativeInt)
    .option('--seed <s>', 'sampling seed (batch b, from 0, samples with seed s + b)', nonNegativeInt, 0)
    .option('--stop <text>', 'cut the text before this string (repeatable)', collect)
    .option('--batch-size <n>', 'prompts per batch', positiveInt, 8);
}

/** Answers --prompts in batches, one JSON line {"prompt", "text", "tokenIds"} per prompt on stdout. */
export async function generateJsonl(lm: CausalLM, opts: DecodingCliOptions, extra: Partial<GenerateOptions> = {}): Promise<void> {
  const prompts = readJsonl(opts.prompts, promptRecord).map((r) => r.prompt);
  for (let i = 0; i < prompts.length; i += opts.batchSize) {
    const generations = await lm.generate(prompts.slice(i, i + opts.batchSize), {
      maxNewTokens: opts.maxNewTokens,
      greedy: opts.greedy,
      temperature: opts.temperature,
      topK: opts.topK,
      topP: opts.topP,
      seed: opts.seed + i / opts.batchSize,
      stop: opts.stop,
      ...extra,
    });
    writeJsonl(generations.map((g) => ({ prompt: g.prompt, text: g.text, tokenIds: g.tokenIds })));
  }
}

export function registerGenerate(program: Command): void {
  const cmd = addDecodingOptions(
    program.command('generate').description('generate a continuation of each prompt: one JSON line {"prompt", "text", "tokenIds"} per prompt on stdout, in input order'),
  );
  addModelOptions(cmd)
    .option('--adapter <dir>', 'a peft LoRA adapter folder to apply')
    .action(async (opts: GenerateCliOptions) => {
      const { CausalLM } = await import('../engine/index.js');
      using lm = await CausalLM.load(opts.model, { dtype: opts.dtype, device: opts.device, adapter: opts.adapter });
      await generateJsonl(lm, opts);
    });
}
