// A model and an adapter saved by moalign load in Python transformers/peft and give moalign's
// logits. Needs a Python with transformers and peft: bench/.venv (made by `npm run bench -- engine`)
// or MOALIGN_TRANSFORMERS_PYTHON; skipped with the reason otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../ts/engine/index.js';
import { ENGINE_FIXTURES, fixtureModelDir, int64, maxLogitError } from '../helpers/engine-fixtures.js';

const venvPython = join(import.meta.dirname, '..', '..', 'bench', '.venv', 'bin', 'python');
const python = process.env.MOALIGN_TRANSFORMERS_PYTHON ?? venvPython;
const libtorchRoot = join(import.meta.dirname, '..', '..', '.libtorch');
const env = { ...process.env, PYTHONPATH: [process.env.PYTHONPATH, existsSync(libtorchRoot) ? libtorchRoot : undefined].filter(Boolean).join(':') };
const usable = existsSync(python) && spawnSync(python, ['-c', 'import torch, transformers, peft'], { env }).status === 0;
if (!usable) console.warn(`skipping the transformers load test: no Python with torch, transformers and peft at ${python}`);

const tmp = mkdtempSync(join(tmpdir(), 'moalign-hf-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cases = JSON.parse(readFileSync(join(ENGINE_FIXTURES, 'cases.json'), 'utf8'));

function transformersLogits(...dirs: string[]): Float64Array {
  const run = spawnSync(python, [join(ENGINE_FIXTURES, 'check_transformers_load.py'), ...dirs], { encoding: 'utf8', env, timeout: 120_000 });
  if (run.status !== 0) throw new Error(run.stderr);
  return Float64Array.from(JSON.parse(run.stdout).logits as number[]);
}

function moalignLogits(lm: CausalLM): Float32Array {
  return lm.native.logits(int64(cases.batch.input_ids), int64(cases.batch.attention_mask)).toArray() as Float32Array;
}

const maxDiffAtTokens = (a: ArrayLike<number>, b: ArrayLike<number>, vocab: number = cases.vocab_size) => maxLogitError(a, b, cases.batch.attention_mask, vocab, false);

describe.skipIf(!usable)('moalign-saved files in Python transformers', () => {
  // A wrong tensor name or layout would leave transformers with random weights: logits far off.
  it.each(['gpt2', 'llama'])('%s: a model saved by moalign gives the same logits in transformers', async (name) => {
    using lm = await CausalLM.load(await fixtureModelDir(name, tmp));
    const out = join(tmp, `${name}-saved`);
    lm.save(out);
    expect(maxDiffAtTokens(transformersLogits(out), moalignLogits(lm))).toBeLessThan(1e-4);
  });

  it("the built-in task's base model (a fresh GPT-2 on a trained BPE) loads in transformers", async () => {
    const { saveBpeTokenizer } = await import('../../ts/engine/bpe-trainer.js');
    const { Tokenizer } = await import('../../ts/engine/tokenizer.js');
    const { DEFAULT_BASE_MODEL, writeBaseModelConfig } = await import('../../ts/task/base-model.js');
    const dir = join(tmp, 'task-base');
    await saveBpeTokenizer(dir, Array.from({ length: 50 }, (_, i) => `the model number ${i} reads a sentence of the corpus.`), { vocabSize: 320, specialTokens: ['<|endoftext|>', '<|pad|>'] });
    writeBaseModelConfig(dir, { ...DEFAULT_BASE_MODEL, model: { ...DEFAULT_BASE_MODEL.model, width: 32, layers: 2, heads: 2 } }, await Tokenizer.load(dir));
    using lm = await CausalLM.fromScratch(dir, { seed: 3 });
    lm.save(dir);
    expect(maxDiffAtTokens(transformersLogits(dir), moalignLogits(lm), lm.info.config.vocabSize)).toBeLessThan(1e-4);
  });

  it('a LoRA adapter trained and saved by moalign loads in peft', async () => {
    using lm = await CausalLM.load(await fixtureModelDir('gpt2', tmp));
    lm.addLora({ targets: ['c_attn', 'c_fc'], rank: 4, alpha: 8, seed: 5 });
    const { Trainer } = await import('../../ts/engine/index.js');
    await new Trainer(lm, { steps: 5, batchSize: 2, lr: 5e-2 }).fit([
      { prompt: 'a: ', response: 'bcd' },
      { prompt: 'x: ', response: 'yz' },
    ]);
    const adapter = join(tmp, 'adapter');
    lm.saveAdapter(adapter);
    const ours = moalignLogits(lm);
    expect(maxDiffAtTokens(transformersLogits(join(ENGINE_FIXTURES, 'gpt2'), adapter), ours)).toBeLessThan(1e-4);
  });
});
