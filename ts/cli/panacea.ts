// moalign panacea train | generate: Panacea's one model for every preference (ts/methods/panacea).
import { InvalidArgumentError, type Command } from 'commander';
import { parseNumberList } from '../moo/points-text.js';
import { addModelOptions, type ModelCliOptions } from './engine-common.js';
import { addDecodingOptions, type DecodingCliOptions, generateJsonl } from './generate.js';
import { registerMethod } from './method-command.js';

interface PanaceaGenerateOptions extends Partial<ModelCliOptions>, DecodingCliOptions {
  run?: string;
  adapter?: string;
  preference: number[];
  normalise: boolean;
}

/** "0.3,0.7" -> [0.3, 0.7] (the hv command's number lists); the simplex is checked with the model's m. */
function preferenceWeights(value: string): number[] {
  try {
    return parseNumberList(value, '--preference');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerPanacea(program: Command): void {
  const panacea = program
    .command('panacea')
    .description('Panacea: one model for every preference (SVD-LoRA with the preference in its singular values), trained once; λ is set at inference');
  registerMethod(panacea, {
    name: 'train',
    description:
      'Trains Panacea on the pool: DPO on response pairs labelled per objective (or SFT on examples weighted per objective), a fresh preference ' +
      'λ from the simplex every step, the objectives\' losses aggregated by linear scalarisation or Tchebycheff; then evaluates the one model ' +
      'under every preference of the grid. Writes a run folder; the same command again continues where it stopped.',
    folder: 'panacea',
    configDoc: 'see PanaceaConfig: task or data, preferences, objective, aggregation, lambdaPer, vertexProb, dpoBeta, pairs, sft, adapter, training, evaluation',
    label: 'Panacea',
    open: async (config, out, options) => new (await import('../methods/panacea/index.js')).PanaceaRun(config, out, options),
    summary: (p) => `${p.objective.toUpperCase()} with ${p.aggregation === 'ls' ? 'linear scalarisation' : 'Tchebycheff'} aggregation`,
  });

  const generate = addDecodingOptions(
    panacea
      .command('generate')
      .description('answers each prompt with a Panacea model under one preference: one JSON line {"prompt", "text", "tokenIds"} per prompt on stdout'),
  )
    .requiredOption('--preference <weights>', 'λ, one weight per objective in the adapter\'s order, e.g. 0.3,0.7 (on the simplex)', preferenceWeights)
    .option('--normalise', 'divide λ by its sum instead of refusing one that does not sum to 1', false)
    .option('--run <dir>', 'a Panacea run folder (moalign panacea train): its base model and adapter')
    .option('--adapter <file>', 'the SVD-LoRA adapter file (with --model)');
  addModelOptions(generate, 'the base model folder the adapter was trained on (with --adapter)', false).action(async (opts: PanaceaGenerateOptions) => {
    const { model, adapter } = await resolveModel(opts);
    const { Panacea } = await import('../methods/panacea/index.js');
    using p = await Panacea.load(model, adapter, { dtype: opts.dtype, device: opts.device });
    const names = p.objectives;
    if (opts.preference.length !== names.length)
      throw new Error(`--preference has ${opts.preference.length} weights; the adapter was trained for ${names.length} objectives (${names.join(', ')})`);
    const sum = opts.preference.reduce((a, b) => a + b, 0);
    // the engine refuses a λ off the simplex, naming the problem; --normalise divides by the sum first
    const preference = opts.normalise && sum > 0 ? opts.preference.map((x) => x / sum) : opts.preference;
    await generateJsonl(p.model, opts, { preference });
  });
}

/** The base model and adapter: from --run's policies.json, or --model and --adapter. */
async function resolveModel(opts: PanaceaGenerateOptions): Promise<{ model: string; adapter: string }> {
  if (opts.run !== undefined) {
    if (opts.model !== undefined || opts.adapter !== undefined) throw new Error('give --run DIR, or --model DIR with --adapter FILE, not both');
    const { readPoliciesFile } = await import('../eval/index.js');
    const { spec, file } = readPoliciesFile(opts.run);
    const first = spec.policies[0];
    if (!spec.preferenceInput || first.adapter === undefined) throw new Error(`${file}: not a Panacea run (its policies are not one model conditioned on the preference)`);
    return { model: first.model, adapter: first.adapter };
  }
  if (opts.model === undefined || opts.adapter === undefined) throw new Error('give --run DIR (a Panacea run folder), or --model DIR with --adapter FILE');
  return { model: opts.model, adapter: opts.adapter };
}
