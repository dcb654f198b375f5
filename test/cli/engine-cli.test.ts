// `moalign generate | logprobs | score | train sft`, spawned from source as `npx moalign` would run
// them, checked against the library's own results computed here in the test process.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';
import { CausalLM, RewardModel } from '../../ts/engine/index.js';

const moalign = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', ...args], { encoding: 'utf8', input, timeout: 60_000 });

const FIX = join(import.meta.dirname, '..', 'fixtures', 'engine');
const tmp = mkdtempSync(join(tmpdir(), 'moalign-engine-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const withTokenizer = (name: string) => fixtureModelDir(name, tmp);

let files = 0;
function file(text: string): string {
  const path = join(tmp, `data-${files++}.jsonl`);
  writeFileSync(path, text);
  return path;
}
const jsonl = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
const parseLines = (stdout: string) => stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
/** Close to the library's number: the CLI prints doubles in full precision. */
const near = (got: unknown, want: number) => expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

const prompts = ['Question: why? ', 'Say hi: ', 'Count: '];
const pairs = [
  { prompt: 'Question: why? ', response: 'Because the sky is blue.' },
  { prompt: 'Say hi: ', response: 'hi' },
  { prompt: 'Count: ', response: 'one two three' },
];
// Training data: short lines, the first word the prompt.
const trainPairs = Array.from({ length: 12 }, (_, i) => ({ prompt: `Item ${i}: `, response: `the value is ${i * 7} units` }));

let gpt2: string, reward: string;
beforeAll(async () => {
  gpt2 = await withTokenizer('gpt2');
  reward = await withTokenizer('gpt2-reward');
});

describe('moalign generate', () => {
  it('greedy: one line per prompt, in order, ids equal to CausalLM.generate (one batch and batches of 2)', async () => {
    using lm = await CausalLM.load(gpt2);
    const want = await lm.generate(prompts, { maxNewTokens: 6 });
    const promptsFile = file(jsonl(prompts.map((prompt) => ({ prompt, extra: 1 }))));
    const run = moalign(['generate', '--model', gpt2, '--prompts', promptsFile, '--max-new-tokens', '6', '--greedy']);
    expect(run.status, run.stderr).toBe(0);
    expect(parseLines(run.stdout)).toEqual(want.map((g) => ({ prompt: g.prompt, text: g.text, tokenIds: g.tokenIds })));

    const batched = moalign(['generate', '--model', gpt2, '--prompts', promptsFile, '--max-new-tokens', '6', '--batch-size', '2']);
    expect(batched.status, batched.stderr).toBe(0);
    const wantBatched = [...(await lm.generate(prompts.slice(0, 2), { maxNewTokens: 6 })), ...(await lm.generate(prompts.slice(2), { maxNewTokens: 6 }))];
    expect(parseLines(batched.stdout).map((g) => g.tokenIds)).toEqual(wantBatched.map((g) => g.tokenIds));
  });

  it('sampling with a seed reproduces CausalLM.generate; prompts from stdin', async () => {
    using lm = await CausalLM.load(gpt2);
    const want = await lm.generate(prompts, { maxNewTokens: 6, temperature: 0.8, topP: 0.9, topK: 50, seed: 3 });
    const run = moalign(
      ['generate', '--model', gpt2, '--prompts', '-', '--max-new-tokens', '6', '--temperature', '0.8', '--top-p', '0.9', '--top-k', '50', '--seed', '3'],
      jsonl(prompts.map((prompt) => ({ prompt }))),
    );
    expect(run.status, run.stderr).toBe(0);
    expect(parseLines(run.stdout).map((g) => g.tokenIds)).toEqual(want.map((g) => g.tokenIds));
  });

  it('--greedy with a sampling option is a usage error', () => {
    const run = moalign(['generate', '--model', gpt2, '--prompts', file(jsonl([{ prompt: 'a' }])), '--greedy', '--temperature', '0.7']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/--greedy/);
    expect(run.stderr).toMatch(/--temperature/);
    expect(run.stdout).toBe('');
  });
});

describe('moalign logprobs and score', () => {
  it('logprobs: {sum, mean, tokens} per pair equal to CausalLM.logProbs, with and without an adapter', async () => {
    const data = file(jsonl(pairs));
    using lm = await CausalLM.load(gpt2);
    const want = lm.logProbs(pairs);
    const run = moalign(['logprobs', '--model', gpt2, '--data', data, '--batch-size', '2']);
    expect(run.status, run.stderr).toBe(0);
    const got = parseLines(run.stdout);
    expect(got).toHaveLength(pairs.length);
    got.forEach((g, i) => {
      expect(Object.keys(g)).toEqual(['sum', 'mean', 'tokens']);
      near(g.sum, want[i].sum);
      near(g.mean, want[i].mean);
      expect(g.tokens).toBe(want[i].tokens);
    });

    const adapter = join(FIX, 'gpt2-lora');
    using adapted = await CausalLM.load(gpt2, { adapter });
    const wantAdapted = adapted.logProbs(pairs);
    const withAdapter = moalign(['logprobs', '--model', gpt2, '--data', data, '--adapter', adapter]);
    expect(withAdapter.status, withAdapter.stderr).toBe(0);
    parseLines(withAdapter.stdout).forEach((g, i) => near(g.sum, wantAdapted[i].sum));
    expect(wantAdapted[0].sum).not.toBe(want[0].sum);
  });

  it("score: {score} per pair equal to RewardModel.score", async () => {
    using rm = await RewardModel.load(reward);
    const want = rm.score(pairs);
    const run = moalign(['score', '--model', reward, '--data', file(jsonl(pairs))]);
    expect(run.status, run.stderr).toBe(0);
    const got = parseLines(run.stdout);
    expect(got).toHaveLength(pairs.length);
    got.forEach((g, i) => {
      expect(Object.keys(g)).toEqual(['score']);
      near(g.score, want[i]);
    });
  });
});

describe('moalign train sft', () => {
  it('--lora writes a peft adapter that changes logProbs; the same command again resumes and writes the same adapter', async () => {
    const out = join(tmp, 'sft-lora');
    const args = ['train', 'sft', '--model', gpt2, '--data', file(jsonl(trainPairs)), '--out', out, '--lora', '--steps', '6', '--batch-size', '2', '--lr', '1e-2', '--seed', '1'];
    const run = moalign(args);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/step 6\/6/); // not a TTY: plain progress lines
    expect(run.stderr).toMatch(/loss \d+\.\d+ \(step 1\) -> \d+\.\d+ \(step 6\)/);
    expect(existsSync(join(out, 'adapter_config.json'))).toBe(true);
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as { target_modules: string[] };
    expect(config.target_modules).toEqual(['c_attn', 'c_proj', 'c_fc']);
    expect(existsSync(join(out, 'checkpoints'))).toBe(true);

    using base = await CausalLM.load(gpt2);
    using tuned = await CausalLM.load(gpt2, { adapter: out });
    const before = base.logProbs(trainPairs.slice(0, 4));
    const after = tuned.logProbs(trainPairs.slice(0, 4));
    const mean = (s: { sum: number }[]) => s.reduce((a, x) => a + x.sum, 0) / s.length;
    expect(mean(after)).toBeGreaterThan(mean(before)); // trained on these: more likely now

    const adapterBytes = readFileSync(join(out, 'adapter_model.safetensors'));
    const again = moalign(args);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resum/i);
    expect(readFileSync(join(out, 'adapter_model.safetensors')).equals(adapterBytes)).toBe(true);
  });

  it('without --lora writes a full model folder that loads and differs from the base', async () => {
    const out = join(tmp, 'sft-full');
    const run = moalign(['train', 'sft', '--model', gpt2, '--data', file(jsonl(trainPairs)), '--out', out, '--steps', '2', '--batch-size', '4', '--lr', '1e-3', '--schedule', 'constant']);
    expect(run.status, run.stderr).toBe(0);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(out, f)), f).toBe(true);
    using base = await CausalLM.load(gpt2);
    using tuned = await CausalLM.load(out);
    expect(tuned.logProbs(pairs)[0].sum).not.toBe(base.logProbs(pairs)[0].sum);
  });

  it('SIGINT stops the run at a checkpoint and exits 130', async () => {
    const out = join(tmp, 'sft-sigint');
    const state = join(out, 'checkpoints', 'checkpoint', 'state.json');
    const args = ['train', 'sft', '--model', gpt2, '--data', file(jsonl(trainPairs)), '--out', out, '--lora', '--steps', '100000', '--batch-size', '2', '--checkpoint-every', '1'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // training is under way once the first checkpoint exists
    for (let t = 0; t < 400 && !existsSync(state) && child.exitCode === null; ++t) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(state), stderr).toBe(true);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(stderr).toMatch(/run the same command again to resume/);
    noStack(stderr);
    expect((JSON.parse(readFileSync(state, 'utf8')) as { step: number }).step).toBeGreaterThan(0);
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(false);
  });
});

describe('bad input', () => {
  it('missing --model is a usage error', () => {
    const run = moalign(['logprobs', '--data', file(jsonl(pairs))]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/--model/);
    expect(run.stdout).toBe('');
  });

  it('a line that is not JSON, or lacks a field, names the file and its line; exit 1', () => {
    const bad = file(`${JSON.stringify(pairs[0])}\n\n{"prompt": "x", "response": \n`);
    const run = moalign(['logprobs', '--model', gpt2, '--data', bad]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(bad);
    expect(run.stderr).toMatch(/line 3\b.*not valid JSON/);
    noStack(run.stderr);
    expect(run.stdout).toBe('');

    const missing = file(jsonl([pairs[0], pairs[1], { prompt: 'no response' }]));
    const run2 = moalign(['train', 'sft', '--model', gpt2, '--data', missing, '--out', join(tmp, 'never')]);
    expect(run2.status).toBe(1);
    expect(run2.stderr).toMatch(/line 3\b.*"response"/);
    noStack(run2.stderr);
    expect(existsSync(join(tmp, 'never'))).toBe(false);

    const wrongType = moalign(['generate', '--model', gpt2, '--prompts', file('{"prompt": 7}\n')]);
    expect(wrongType.status).toBe(1);
    expect(wrongType.stderr).toMatch(/line 1\b.*"prompt".*string/);
  });

  it('an empty data file, a missing file and an unknown option are clear errors', () => {
    const empty = moalign(['score', '--model', reward, '--data', file('\n')]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/no records|empty/);
    noStack(empty.stderr);

    const nofile = moalign(['generate', '--model', gpt2, '--prompts', join(tmp, 'nope.jsonl')]);
    expect(nofile.status).toBe(1);
    expect(nofile.stderr).toMatch(/nope\.jsonl: no such file/);

    const unknown = moalign(['score', '--model', reward, '--data', file(jsonl(pairs)), '--bogus']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);

    const notInt = moalign(['train', 'sft', '--model', gpt2, '--data', file(jsonl(pairs)), '--out', join(tmp, 'never'), '--steps', '2.5']);
    expect(notInt.status).not.toBe(0);
    expect(notInt.stderr).toMatch(/--steps/);
  });

  it('a missing model folder, or the wrong kind of model, names the problem', () => {
    const none = moalign(['logprobs', '--model', join(tmp, 'no-model'), '--data', file(jsonl(pairs))]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no-model.*config\.json/);
    noStack(none.stderr);
    const wrong = moalign(['score', '--model', gpt2, '--data', file(jsonl(pairs))]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/classification head/);
  });
});
