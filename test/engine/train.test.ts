// Native SFT: the loss falls on real text, the same seed gives the same losses, an interrupted
// run resumes on the same loss curve, and a diverging run stops with a clear error.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelInfo } from '../../ts/engine/config.js';
import type { NativeCausalLM, NativeTrainOptions } from '../../ts/native/addon.js';
import { native } from '../../ts/native/loader.js';
import { ENGINE_FIXTURES } from '../helpers/engine-fixtures.js';

const FIX = ENGINE_FIXTURES;
const BOS = 257;
const PAD = 256;
const tmp = mkdtempSync(join(tmpdir(), 'moalign-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Real text (this project's README): each line is an example, its first 8 bytes the prompt.
const lines = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => Buffer.byteLength(l) > 16)
  .slice(0, 64);

function examples(promptBytes = 8) {
  const ids: number[] = [], labels: number[] = [], offsets = [0];
  for (const line of lines) {
    const bytes = [...Buffer.from(line, 'utf8').subarray(0, 40)];
    const row = [BOS, ...bytes];
    row.forEach((t, i) => {
      ids.push(t);
      labels.push(i <= promptBytes ? -100 : t);
    });
    offsets.push(ids.length);
  }
  return { ids: Int32Array.from(ids), labels: Int32Array.from(labels), offsets: Int32Array.from(offsets) };
}

function gpt2(): NativeCausalLM {
  const model = new (native().CausalLM)(join(FIX, 'gpt2'), readModelInfo(join(FIX, 'gpt2')).config);
  model.setFullFinetune(true);
  return model;
}

const base: NativeTrainOptions = { steps: 24, batchSize: 8, lr: 3e-3, warmupSteps: 2, schedule: 'cosine', seed: 7, padId: PAD, weightDecay: 0.01 };

describe('trainSft', () => {
  it('lowers the loss clearly, and the same seed gives the same losses', async () => {
    const data = examples();
    const a = await native().trainSft(gpt2(), data.ids, data.labels, data.offsets, base);
    const b = await native().trainSft(gpt2(), data.ids, data.labels, data.offsets, base);
    expect(a.losses.length).toBe(24);
    const first = a.losses[0], last = (a.losses[21] + a.losses[22] + a.losses[23]) / 3;
    expect(last).toBeLessThan(0.75 * first);
    expect(Array.from(b.losses)).toEqual(Array.from(a.losses));
  });

  it('trains only the LoRA tensors when adapters are attached', async () => {
    const data = examples();
    const model = new (native().CausalLM)(join(FIX, 'gpt2'), readModelInfo(join(FIX, 'gpt2')).config);
    model.addLora({ targets: ['c_attn', 'c_fc'], rank: 4, alpha: 8, seed: 1 });
    expect(model.parameterNames(true).every((n) => n.includes('lora_'))).toBe(true);
    const wte = Float32Array.from(model.parameter('transformer.wte.weight').toArray() as Float32Array);
    const r = await native().trainSft(model, data.ids, data.labels, data.offsets, { ...base, lr: 1e-2 });
    expect(r.losses[23]).toBeLessThan(r.losses[0]);
    expect(Array.from(model.parameter('transformer.wte.weight').toArray() as Float32Array)).toEqual(Array.from(wte));
  });

  it('trains under bf16 autocast close to the fp32 run', async () => {
    const data = examples();
    const fp32 = await native().trainSft(gpt2(), data.ids, data.labels, data.offsets, base);
    const bf16 = await native().trainSft(gpt2(), data.ids, data.labels, data.offsets, { ...base, autocast: 'bfloat16' });
    expect(Math.abs(bf16.losses[0] - fp32.losses[0]) / fp32.losses[0]).toBeLessThan(0.02);
    expect(bf16.losses[0]).not.toBe(fp32.losses[0]); // bf16 matmuls did run
    expect(bf16.losses[23]).toBeLessThan(0.75 * bf16.losses[0]);
  });

  it('gives the same losses with activation checkpointing (Llama layout, LoRA and full)', async () => {
    const data = examples();
    const llama = () => {
      const m = new (native().CausalLM)(join(FIX, 'llama'), readModelInfo(join(FIX, 'llama')).config);
      m.setFullFinetune(true);
      return m;
    };
    const plain = await native().trainSft(llama(), data.ids, data.labels, data.offsets, { ...base, steps: 6 });
    const recomputed = await native().trainSft(llama(), data.ids, data.labels, data.offsets, { ...base, steps: 6, activationCheckpointing: true });
    Array.from(recomputed.losses).forEach((l, i) => expect(Math.abs(l - plain.losses[i])).toBeLessThan(1e-5));
    const lora = () => {
      const m = gpt2();
      m.setFullFinetune(false);
      m.addLora({ targets: ['c_attn'], rank: 4, alpha: 8, seed: 1 });
      return m;
    };
    const a = await native().trainSft(lora(), data.ids, data.labels, data.offsets, { ...base, steps: 6, lr: 1e-2 });
    const b = await native().trainSft(lora(), data.ids, data.labels, data.offsets, { ...base, steps: 6, lr: 1e-2, activationCheckpointing: true });
    Array.from(b.losses).forEach((l, i) => expect(Math.abs(l - a.losses[i])).toBeLessThan(1e-5));
    expect(b.losses[5]).not.toBe(b.losses[0]);
  });

  it('resumes an interrupted run on the same loss curve', async () => {
    const data = examples();
    const dir = join(tmp, 'resume');
    const straight = await native().trainSft(gpt2(), data.ids, data.labels, data.offsets, base);
    // Interrupt after 10 steps: the trainer checkpoints on abort.
    const token = new (native().CancelToken)();
    const first = native().trainSft(gpt2(), data.ids, data.labels, data.offsets, { ...base, checkpointDir: dir, checkpointEvery: 5 }, token, (step) => {
      if (step === 10) token.cancel();
    });
    await expect(first).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(existsSync(join(dir, 'checkpoint', 'state.json'))).toBe(true);
    const resumed = await native().trainSft(gpt2(), data.ids, data.labels, data.offsets, { ...base, checkpointDir: dir, checkpointEvery: 5 });
    // the abort reaches the native loop a step or two after the callback asked for it
    expect(resumed.startStep).toBeGreaterThanOrEqual(10);
    expect(resumed.startStep).toBeLessThan(24);
    expect(Array.from(resumed.losses)).toEqual(Array.from(straight.losses));
  });

  it('stops a diverging run with a clear error and keeps the last good checkpoint', async () => {
    const data = examples();
    const dir = join(tmp, 'nan');
    const run = native().trainSft(gpt2(), data.ids, data.labels, data.offsets, { ...base, lr: 1e12, maxGradNorm: 0, checkpointDir: dir, checkpointEvery: 1 });
    await expect(run).rejects.toThrow(/loss became/);
    expect(existsSync(join(dir, 'checkpoint', 'trainable.safetensors'))).toBe(true);
  });

  it('refuses bad input with a message naming it', async () => {
    const data = examples();
    await expect(native().trainSft(gpt2(), new Int32Array(0), new Int32Array(0), Int32Array.from([0]), base)).rejects.toThrow(/training data is empty/);
    const long = Int32Array.from({ length: 100 }, () => 65);
    await expect(native().trainSft(gpt2(), long, long, Int32Array.from([0, 100]), base)).rejects.toThrow(/more than the model's context of 64/);
    await expect(native().trainSft(gpt2(), data.ids, data.labels, data.offsets, { ...base, schedule: 'step' as 'linear' })).rejects.toThrow(/schedule/);
  });
});
