// A runnable model folder from the engine fixtures: the fixture's config.json and weights plus a
// byte-level tokenizer matching their vocabulary (256 bytes, then pad 256, bos 257, eos 258 and
// three unused ids).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { saveByteTokenizer } from '../../ts/engine/index.js';
import type { NativeTensor } from '../../ts/native/addon.js';
import { native } from '../../ts/native/loader.js';

export const ENGINE_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'engine');

const specials = { specialTokens: ['<|pad|>', '<|bos|>', '<|eos|>', '<|u1|>', '<|u2|>', '<|u3|>'], eosToken: '<|eos|>', padToken: '<|pad|>' };

/** Copies fixture `name` (e.g. "gpt2", "gpt2-reward") into `parent/name` with a tokenizer; returns the folder. */
export async function fixtureModelDir(name: string, parent: string): Promise<string> {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(ENGINE_FIXTURES, name, f), join(dir, f));
  await saveByteTokenizer(dir, specials);
  return dir;
}

/** Token rows as an int64 (B, T) tensor. */
export function int64(rows: number[][]): NativeTensor {
  return new (native().Tensor)(BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
}

/** max |got - want| over the (B, T, V) logits at the positions where `mask` (B, T) is 1; with
 *  `relative`, each difference is divided by max(1, |want|). */
export function maxLogitError(got: ArrayLike<number>, want: ArrayLike<number>, mask: number[][], V: number, relative: boolean): number {
  let worst = 0;
  mask.forEach((row, b) =>
    row.forEach((m, t) => {
      if (!m) return;
      for (let v = 0; v < V; ++v) {
        const i = (b * row.length + t) * V + v;
        const d = Math.abs(got[i] - want[i]);
        worst = Math.max(worst, relative ? d / Math.max(1, Math.abs(want[i])) : d);
      }
    }),
  );
  return worst;
}
