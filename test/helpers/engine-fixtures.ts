// A runnable model folder from the engine fixtures: the fixture's config.json and weights plus a
// byte-level tokenizer matching their vocabulary (256 bytes, then pad 256, bos 257, eos 258 and
// three unused ids).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { saveByteTokenizer } from '../../ts/engine/index.js';

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
