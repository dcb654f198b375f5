// The contract between training methods and the evaluation: a method's run folder holds
// `policies.json`, naming one policy (a model folder, optionally with a LoRA adapter, optionally
// with a text appended to every prompt) per preference, or one model conditioned on the preference
// (Panacea's SVD-LoRA, `preferenceInput`) listed under every preference. Evaluation only ever sees `Policy`
// objects, so a method in code can also hand its own policies to evaluatePolicies without writing
// a file.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { checkRecord } from '../data/jsonl.js';
import { CausalLM, type ModelLoadOptions } from '../engine/causal-lm.js';
import { parseJsonText } from '../util/json-file.js';

export const POLICIES_FILE = 'policies.json';

/** Preference vectors are on the simplex up to this much rounding. */
const SIMPLEX_TOLERANCE = 1e-6;

const pathString = z.string().min(1, 'path is empty');

/** One policy of a run: the model trained for `preference`. Paths are relative to the run folder. */
export const policyEntry = z.object({
  preference: z.array(z.number().min(0, 'preference weights must be >= 0')).min(1),
  model: pathString,
  adapter: pathString.optional(),
  /**
   * Appended to every prompt before this policy generates (RiC: the target scores of its
   * preference). The evaluation records and scores the prompt without it.
   */
  promptSuffix: z.string().optional(),
});

/** `policies.json`: what a method's run produced. */
export const policiesFile = z
  .object({
    /** The method's name as reports show it ("paretohqd", "ric", ...). */
    method: z.string().min(1),
    /** The objectives, in the order of every preference vector. */
    objectives: z.array(z.string().min(1)).min(1),
    /** The task folder (moalign task build), relative to the run folder or absolute. */
    task: pathString.optional(),
    policies: z.array(policyEntry).min(1),
    /** True for one model conditioned on the preference (Panacea): every policy names the same model and SVD-LoRA adapter, and generates with λ = its preference. */
    preferenceInput: z.boolean().optional(),
    /** Wall-clock training time of the whole run, for the comparison table. */
    trainSeconds: z.number().min(0).optional(),
    /** CPU seconds of the training (every thread of the process). */
    trainCpuSeconds: z.number().min(0).optional(),
    /** GPU seconds of the training (0 when it ran on the CPU). */
    trainGpuSeconds: z.number().min(0).optional(),
    /** Scorers of objectives that are not built-in: name → "rm:DIR" or "fn:FILE.mjs" (relative to the run folder). */
    scorers: z.record(z.string().min(1), z.string().min(1)).optional(),
  })
  .superRefine((spec, ctx) => {
    if (new Set(spec.objectives).size !== spec.objectives.length) ctx.addIssue({ code: 'custom', path: ['objectives'], message: `objective names repeat: ${spec.objectives.join(', ')}` });
    spec.policies.forEach((p, i) => {
      const path = ['policies', i, 'preference'];
      if (p.preference.length !== spec.objectives.length) {
        ctx.addIssue({ code: 'custom', path, message: `has ${p.preference.length} weights for ${spec.objectives.length} objectives (${spec.objectives.join(', ')})` });
        return;
      }
      const sum = p.preference.reduce((a, b) => a + b, 0);
      if (Math.abs(sum - 1) > SIMPLEX_TOLERANCE) ctx.addIssue({ code: 'custom', path, message: `weights sum to ${sum}, not 1 (a preference lies on the simplex)` });
    });
  });
/** The content of policies.json (what a method writes). */
export type PoliciesFile = z.input<typeof policiesFile>;
/** policies.json as read and checked. */
export type PoliciesSpec = z.infer<typeof policiesFile>;

/** Decoding settings every policy generates with (see evaluatePolicies for the defaults). */
export interface PolicyGenerateOptions {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  signal?: AbortSignal;
  /** Decoding steps done of this call's steps. */
  onProgress?: (step: number, steps: number) => void;
}

/** What the evaluation needs of a trained policy. */
export interface Policy {
  /** The preference ω it was trained for, in the objectives' order. */
  preference: number[];
  /** Shown in provenance and errors; default `policy <index>`. */
  name?: string;
  /**
   * Policies with the same key generate the same texts for the same prompts, decoding and seeds
   * (the plain SFT baseline lists one model under every preference): the evaluation generates
   * once and reuses the answers. Default: none, every policy generates.
   */
  sameAs?: string;
  /** One response per prompt, in order. */
  generate(prompts: string[], options: PolicyGenerateOptions): Promise<string[]>;
  /** Frees what generate loaded; the evaluation calls it once it is done with this policy.
   *  A later generate may load it again. */
  dispose?(): void;
}

/** One response text per prompt from `lm` under the policy's decoding (and λ, for a model conditioned on the preference). */
async function generateTexts(lm: CausalLM, prompts: string[], o: PolicyGenerateOptions, promptSuffix: string, preference?: number[]): Promise<string[]> {
  const out = await lm.generate(promptSuffix === '' ? prompts : prompts.map((p) => p + promptSuffix), {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    topP: o.topP,
    seed: o.seed,
    signal: o.signal,
    onProgress: o.onProgress,
    ...(preference !== undefined && { preference }),
  });
  return out.map((g) => g.text);
}

/** A policy backed by a model folder, loaded on its first generate and freed by dispose; with
 *  `promptSuffix`, every prompt is generated from with the suffix appended. */
export function causalLMPolicy(preference: number[], modelDir: string, options: ModelLoadOptions & { name?: string; promptSuffix?: string } = {}): Policy {
  const { name = modelDir, promptSuffix = '', ...load } = options;
  let lm: CausalLM | undefined;
  return {
    preference,
    name,
    sameAs: JSON.stringify({ modelDir, promptSuffix, ...load }),
    async generate(prompts, o) {
      lm ??= await CausalLM.load(modelDir, load);
      return generateTexts(lm, prompts, o, promptSuffix);
    },
    dispose() {
      lm?.dispose();
      lm = undefined;
    },
  };
}

/** A run's policies.json, checked, with every path made absolute. */
export interface RunPolicies {
  /** The run folder (absolute). */
  runDir: string;
  /** The policies.json file. */
  file: string;
  /** Its exact text (hashed, so a retrained run is evaluated again). */
  text: string;
  spec: PoliciesSpec;
  /** The task folder, absolute, when the run names one. */
  taskDir?: string;
}

/** Reads and checks `runDir/policies.json`; errors name the file and the field. Paths come back absolute. */
export function readPoliciesFile(runDir: string): RunPolicies {
  const dir = resolve(runDir);
  const file = join(dir, POLICIES_FILE);
  if (!existsSync(file)) throw new Error(`${dir} holds no ${POLICIES_FILE} (the file a method writes to name its policies)`);
  const text = readFileSync(file, 'utf8');
  const r = checkRecord(policiesFile, parseJsonText(file, text));
  if (r.problem !== undefined) throw new Error(`${file}: ${r.problem}`);
  const at = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const spec: PoliciesSpec = {
    ...r.data,
    policies: r.data.policies.map((p) => ({ ...p, model: at(p.model), ...(p.adapter !== undefined && { adapter: at(p.adapter) }) })),
  };
  spec.policies.forEach((p, i) => {
    if (!existsSync(p.model)) throw new Error(`${file}: field "policies.${i}.model": ${p.model} does not exist`);
    if (p.adapter !== undefined && !existsSync(p.adapter)) throw new Error(`${file}: field "policies.${i}.adapter": ${p.adapter} does not exist`);
  });
  return { runDir: dir, file, text, spec, ...(spec.task !== undefined && { taskDir: at(spec.task) }) };
}

/**
 * The policies of one model conditioned on the preference (Panacea; policies.json says
 * `preferenceInput`): every entry names the same base model and SVD-LoRA adapter file, loaded once
 * and shared; each policy generates with λ = its preference. The model is freed once every policy
 * was disposed. The adapter's objectives must be the run's, in the same order.
 */
function preferenceInputPolicies(r: RunPolicies, options: Omit<ModelLoadOptions, 'adapter'>): Policy[] {
  const { spec, file } = r;
  const [first] = spec.policies;
  const adapter = first.adapter;
  if (adapter === undefined) throw new Error(`${file}: field "policies.0.adapter": a run with "preferenceInput" names the SVD-LoRA adapter file of its one model`);
  spec.policies.forEach((p, i) => {
    if (p.model !== first.model || p.adapter !== adapter) throw new Error(`${file}: field "policies.${i}": with "preferenceInput", every policy names the same model and adapter (one model for every preference)`);
  });
  let lm: CausalLM | undefined;
  const released = new Set<number>();
  const load = async (): Promise<CausalLM> => {
    if (lm) return lm;
    const model = await CausalLM.load(first.model, options);
    try {
      const info = model.loadSvdLora(adapter);
      if (info.objectives.join('\u0000') !== spec.objectives.join('\u0000'))
        throw new Error(`${adapter}: the adapter was trained for objectives (${info.objectives.join(', ')}), the run evaluates (${spec.objectives.join(', ')}); the order must match`);
    } catch (e) {
      model.dispose();
      throw e;
    }
    lm = model;
    return model;
  };
  return spec.policies.map((p, i) => ({
    preference: p.preference,
    name: `policies.${i} (${p.model} + ${adapter}, λ = ${p.preference.map((x) => +x.toFixed(4)).join(', ')})`,
    async generate(prompts, o) {
      released.delete(i);
      return generateTexts(await load(), prompts, o, p.promptSuffix ?? '', p.preference);
    },
    dispose() {
      released.add(i);
      if (released.size < spec.policies.length) return;
      lm?.dispose();
      lm = undefined;
    },
  }));
}

/** The policies of a run folder (its folder, or its policies.json already read), each backed by
 *  its model: loaded on first use and freed when the evaluation is done with it. */
export function loadPolicies(run: string | RunPolicies, options: Omit<ModelLoadOptions, 'adapter'> = {}): Policy[] {
  const r = typeof run === 'string' ? readPoliciesFile(run) : run;
  if (r.spec.preferenceInput) return preferenceInputPolicies(r, options);
  return r.spec.policies.map((p, i) =>
    causalLMPolicy(p.preference, p.model, {
      ...options,
      ...(p.adapter !== undefined && { adapter: p.adapter }),
      ...(p.promptSuffix !== undefined && { promptSuffix: p.promptSuffix }),
      name: `policies.${i} (${p.model})`,
    }),
  );
}
