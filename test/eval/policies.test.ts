// policies.json, the contract between a method's run and the evaluation: what is accepted, and
// errors that name the file and the field.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Scorer, ScoreInput } from '../../ts/data/scorers/index.js';
import { CausalLM } from '../../ts/engine/causal-lm.js';
import { evaluatePolicies, loadPolicies, readPoliciesFile } from '../../ts/eval/index.js';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-policies-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let runs = 0;
/** A run folder with `policies` as its policies.json and empty model folders m0, m1. */
function run(policies: unknown): string {
  const dir = join(tmp, `run${runs++}`);
  for (const m of ['m0', 'm1', 'm1/adapter']) mkdirSync(join(dir, m), { recursive: true });
  writeFileSync(join(dir, 'policies.json'), typeof policies === 'string' ? policies : JSON.stringify(policies));
  return dir;
}
const valid = {
  method: 'paretohqd',
  objectives: ['positivity', 'fidelity'],
  task: '../task',
  policies: [
    { preference: [0, 1], model: 'm0' },
    { preference: [1 / 3, 2 / 3], model: 'm1', adapter: 'm1/adapter' },
  ],
  preferenceInput: false,
  trainSeconds: 12.5,
};

describe('readPoliciesFile', () => {
  it('reads a valid file and makes every path absolute (relative to the run folder)', () => {
    const dir = run(valid);
    const r = readPoliciesFile(dir);
    expect(r.runDir).toBe(dir);
    expect(r.taskDir).toBe(join(tmp, 'task'));
    expect(r.spec.policies).toEqual([
      { preference: [0, 1], model: join(dir, 'm0') },
      { preference: [1 / 3, 2 / 3], model: join(dir, 'm1'), adapter: join(dir, 'm1/adapter') },
    ]);
    expect(r.spec.trainSeconds).toBe(12.5);
    // lazily loaded: nothing is read from the (empty) model folders yet
    expect(loadPolicies(r).map((p) => p.preference)).toEqual([[0, 1], [1 / 3, 2 / 3]]);
  });

  it.each([
    [{ ...valid, policies: [{ preference: [0.5], model: 'm0' }] }, /field "policies.0.preference": has 1 weights for 2 objectives/],
    [{ ...valid, policies: [{ preference: [0.5, 0.4], model: 'm0' }] }, /field "policies.0.preference": weights sum to 0.9, not 1/],
    [{ ...valid, policies: [{ preference: [-0.5, 1.5], model: 'm0' }] }, /field "policies.0.preference.0": .*>= 0/],
    [{ ...valid, policies: [{ preference: [1, 0] }] }, /missing field "policies.0.model"/],
    [{ ...valid, policies: [] }, /field "policies"/],
    [{ ...valid, objectives: ['a', 'a'] }, /field "objectives": objective names repeat/],
    [{ ...valid, policies: [{ preference: [1, 0], model: 'nowhere' }] }, /field "policies.0.model": .*nowhere does not exist/],
    [{ ...valid, policies: [{ preference: [1, 0], model: 'm0', adapter: 'no-adapter' }] }, /field "policies.0.adapter": .*no-adapter does not exist/],
    [{ ...valid, policies: [{ preference: [1, 0], model: 'm0', promptSuffix: 1.7 }] }, /field "policies.0.promptSuffix"/],
    ['{ not json', /not valid JSON/],
  ])('refuses an invalid file, naming it and the field (%#)', (policies, message) => {
    const dir = run(policies);
    expect(() => readPoliciesFile(dir)).toThrow(message);
    expect(() => readPoliciesFile(dir)).toThrow(join(dir, 'policies.json'));
  });

  it('refuses a folder without policies.json', () => {
    expect(() => readPoliciesFile(tmp)).toThrow(/holds no policies.json/);
  });

  it('accepts preferenceInput (Panacea) only when every policy names the same model and adapter', () => {
    const dir = run({ ...valid, preferenceInput: true });
    expect(readPoliciesFile(dir).spec.preferenceInput).toBe(true);
    expect(() => loadPolicies(dir)).toThrow(/policies\.0\.adapter": a run with "preferenceInput" names the SVD-LoRA adapter file/);
    const twoModels = run({ ...valid, preferenceInput: true, policies: valid.policies.map((p) => ({ ...p, adapter: 'm1/adapter' })) });
    expect(() => loadPolicies(twoModels)).toThrow(/policies\.1": with "preferenceInput", every policy names the same model and adapter/);
  });
});

describe('promptSuffix (one model conditioned through its prompt, as RiC)', () => {
  const suffixed = (model: string) => ({
    ...valid,
    policies: [
      { preference: [0, 1], model, promptSuffix: ' <1> -4.2 <2> 4.2\n' },
      { preference: [1, 0], model, promptSuffix: ' <1> 4.2 <2> -4.2\n' },
      { preference: [0.5, 0.5], model },
    ],
  });

  it('is read as given, and absent when not given', () => {
    const r = readPoliciesFile(run(suffixed('m0')));
    expect(r.spec.policies.map((p) => p.promptSuffix)).toEqual([' <1> -4.2 <2> 4.2\n', ' <1> 4.2 <2> -4.2\n', undefined]);
  });

  it('is appended to every prompt the policy generates from; the evaluation records and scores the plain prompt', async () => {
    const model = await fixtureModelDir('gpt2', join(tmp, 'models'));
    const dir = run(suffixed(model));
    const prompts = [
      { id: 'a', prompt: 'The jury said' },
      { id: 'b', prompt: 'It was' },
    ];
    const decoding = { maxNewTokens: 6, temperature: 1.0, topP: 0.9, seed: 3 };
    // what each policy must produce: the model itself on the prompts with the suffix
    using lm = await CausalLM.load(model);
    const want = await Promise.all(
      [' <1> -4.2 <2> 4.2\n', ' <1> 4.2 <2> -4.2\n', ''].map(async (suffix) => (await lm.generate(prompts.map((p) => p.prompt + suffix), decoding)).map((g) => g.text)),
    );
    // the suffix changes what this model writes, so the comparison below can tell it was applied
    expect(want[0]).not.toEqual(want[2]);
    const policies = loadPolicies(dir);
    for (const [k, policy] of policies.entries()) expect(await policy.generate(prompts.map((p) => p.prompt), decoding)).toEqual(want[k]);

    const seen: ScoreInput[] = [];
    const scorer = (name: string): Scorer => ({
      name,
      id: `test:${name}`,
      score: async (batch) => {
        seen.push(...batch);
        return batch.map((b) => b.response.length);
      },
    });
    const result = await evaluatePolicies(policies, prompts, [scorer('a'), scorer('b')], { ...decoding, batchSize: 2 });
    expect(result.generations.map((g) => g.prompt)).toEqual(['The jury said', 'It was', 'The jury said', 'It was', 'The jury said', 'It was']);
    expect(result.generations.map((g) => g.response)).toEqual(want.flat().map((t) => t.trim()));
    expect(seen.length).toBe(12);
    expect(seen.every((s) => s.prompt === 'The jury said' || s.prompt === 'It was')).toBe(true);
  });
});
