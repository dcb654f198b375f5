// The tokenizer layer against independent references: Node's own UTF-8 encoder for the byte-level
// tokenizer, and the values Python's `tokenizers` and transformers recorded in
// test/fixtures/tokenizer/expected.json (see make_fixtures.py there) for a real BPE tokenizer.json
// and its chat templates.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createByteTokenizer,
  createByteTokenizerConfig,
  saveByteTokenizer,
  Tokenizer,
  type ChatMessage,
  type TokenizerConfigJson,
} from '../../ts/engine/tokenizer.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/tokenizer/', import.meta.url));
const BPE_DIR = join(FIXTURES, 'bpe');
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

interface EncodeCase { text: string; ids: number[]; idsWithoutSpecialTokens: number[]; decoded: string; decodedSkippingSpecialTokens: string }
interface ChatCase {
  template: 'chatml' | 'llama-like';
  name: string;
  messages: ChatMessage[];
  addGenerationPrompt: boolean;
  templateVariables?: Record<string, unknown>;
  rendered: string;
  ids?: number[];
}
const expected = readJson(join(FIXTURES, 'expected.json')) as {
  bpe: {
    vocabSize: number;
    special: { bos: number; eos: number; pad: number };
    eosIds: number[];
    tokens: Record<string, number | null>;
    encode: EncodeCase[];
    chatTemplates: Record<ChatCase['template'], string>;
    chat: ChatCase[];
    unknownRoleError: string;
    postProcessorOverrides: { flags: Record<string, boolean>; cases: { text: string; ids: number[] }[] }[];
    specialTokensMapOverride: { specialTokensMap: Record<string, unknown>; eosToken: string; eosId: number };
  };
  byte: { vocabSize: number; encode: EncodeCase[] };
};
const bpeTokenizerJson = readJson(join(BPE_DIR, 'tokenizer.json'));
const bpeConfig = readJson(join(BPE_DIR, 'tokenizer_config.json')) as TokenizerConfigJson;

const scratch = await mkdtemp(join(tmpdir(), 'moalign-tokenizer-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));
let dirCount = 0;

/** A fresh directory holding `files` (objects are written as JSON, strings as they are). */
async function tokenizerDir(files: Record<string, unknown>): Promise<string> {
  const dir = join(scratch, `t${dirCount++}`);
  await mkdir(dir);
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const utf8 = (s: string) => [...Buffer.from(s, 'utf8')];
const bpe = await Tokenizer.load(BPE_DIR);
const byteDir = join(scratch, 'byte');
await saveByteTokenizer(byteDir);
const bytes = await Tokenizer.load(byteDir);

describe('byte-level tokenizer', () => {
  it('writes the tokenizer.json that Python tokenizers serialises for the same byte-level BPE', () => {
    expect(createByteTokenizer()).toStrictEqual(readJson(join(FIXTURES, 'byte', 'tokenizer.json')));
  });

  it('loads back with the bytes at 0..255 and the specials after them', () => {
    expect(bytes.vocabSize).toBe(expected.byte.vocabSize);
    expect(bytes.vocabSize).toBe(258);
    expect([bytes.eosToken, bytes.eosId, bytes.padToken, bytes.padId]).toEqual(['<|endoftext|>', 256, '<|pad|>', 257]);
    expect([...bytes.eosIds]).toEqual([256]);
    expect(bytes.bosId).toBeUndefined();
    expect(bytes.hasChatTemplate).toBe(false);
    // every byte is exactly one token and every token one byte
    const tokens = new Set<string>();
    for (let b = 0; b < 256; b++) {
      const token = bytes.idToToken(b)!;
      expect([...token]).toHaveLength(1);
      expect(bytes.tokenToId(token)).toBe(b);
      tokens.add(token);
    }
    expect(tokens.size).toBe(256);
    expect(bytes.idToToken(256)).toBe('<|endoftext|>');
    expect(bytes.idToToken(258)).toBeUndefined();
  });

  it('encodes any well-formed string to its UTF-8 bytes and decodes it back exactly', () => {
    const awkward = fc.constantFrom('\0', '\n', '\r\n', ' ', '  ', '\t', '\ufeff', '\u00a0', 'é', 'e\u0301', '日本', '🤗', '👨\u200d👩\u200d👧', "'s", '<', '|', 'a', '1');
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 64 }),
      fc.string({ unit: 'grapheme', maxLength: 32 }),
      fc.string({ unit: awkward, maxLength: 32 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        fc.pre(!s.includes('<|endoftext|>') && !s.includes('<|pad|>'));
        const ids = bytes.encode(s);
        expect(ids).toEqual(utf8(s));
        expect(bytes.decode(ids)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('gives what Python tokenizers gives for the recorded strings', () => {
    for (const c of expected.byte.encode) {
      expect(bytes.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(bytes.decode(c.ids)).toBe(c.decoded);
      expect(bytes.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decodedSkippingSpecialTokens);
    }
  });

  it('encodes special tokens in text to their ids and skips them on decode when asked', () => {
    const text = 'a<|endoftext|>é<|pad|><|pad|>b';
    const ids = bytes.encode(text);
    expect(ids).toEqual([97, 256, ...utf8('é'), 257, 257, 98]);
    expect(bytes.decode(ids)).toBe(text);
    expect(bytes.decode(ids, { skipSpecialTokens: true })).toBe('aéb');
    // no post-processor: addSpecialTokens has nothing to add
    expect(bytes.encode('x', { addSpecialTokens: true })).toEqual([120]);
  });

  it('turns a lone surrogate, which UTF-8 cannot hold, into U+FFFD as TextEncoder does', () => {
    expect(bytes.encode('a\ud800b')).toEqual(utf8('a\ufffdb'));
    expect(bytes.decode(bytes.encode('a\ud800b'))).toBe('a\ufffdb');
  });

  it('takes custom special tokens, in order, with eos/pad defaults and checks', async () => {
    const dir = join(scratch, 'custom-byte');
    await saveByteTokenizer(dir, { specialTokens: ['<eos>', '<sep>', '<bos>'], padToken: '<eos>', modelMaxLength: 64 });
    const tok = await Tokenizer.load(dir);
    expect([tok.tokenToId('<eos>'), tok.tokenToId('<sep>'), tok.tokenToId('<bos>')]).toEqual([256, 257, 258]);
    expect([tok.eosId, tok.padId, tok.modelMaxLength, tok.vocabSize]).toEqual([256, 256, 64, 259]);
    expect(createByteTokenizerConfig({ specialTokens: [] })).toEqual({ tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: false });
    expect(() => createByteTokenizer({ specialTokens: ['a'] })).toThrow(/collides with a byte token/);
    expect(() => createByteTokenizer({ specialTokens: ['<x>', '<x>'] })).toThrow(/listed twice/);
    expect(() => createByteTokenizer({ specialTokens: [''] })).toThrow(/non-empty/);
    expect(() => createByteTokenizer({ eosToken: '<eos>' })).toThrow(/eosToken "<eos>" is not one of the special tokens/);
    expect(() => createByteTokenizerConfig({ modelMaxLength: 0 })).toThrow(RangeError);
  });

  it('saves by renaming complete files: nothing else is left behind, and a second save replaces the first', async () => {
    const dir = join(scratch, 'resave');
    await saveByteTokenizer(dir);
    await saveByteTokenizer(dir, { specialTokens: ['<|end|>'] });
    expect((await readdir(dir)).sort()).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    const tok = await Tokenizer.load(dir);
    expect([tok.vocabSize, tok.eosToken, tok.padToken]).toEqual([257, '<|end|>', '<|end|>']);
    expect(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'))).toStrictEqual(createByteTokenizer({ specialTokens: ['<|end|>'] }));
  });

  it('works in memory through Tokenizer.fromJSON', () => {
    const tok = Tokenizer.fromJSON({ tokenizer: createByteTokenizer(), config: createByteTokenizerConfig() });
    expect(tok.encode('hi<|endoftext|>')).toEqual([104, 105, 256]);
    expect(tok.eosId).toBe(256);
  });
});

describe('Hugging Face tokenizer.json (a BPE trained by Python tokenizers)', () => {
  it.each(expected.bpe.encode.map((c) => [JSON.stringify(c.text), c] as const))('encodes %s as Python does', (_, c) => {
    expect(bpe.encode(c.text)).toEqual(c.ids);
    expect(bpe.encode(c.text, { addSpecialTokens: false })).toEqual(c.idsWithoutSpecialTokens);
  });

  it.each(expected.bpe.encode.map((c) => [JSON.stringify(c.text), c] as const))('decodes %s as Python does', (_, c) => {
    expect(bpe.decode(c.ids)).toBe(c.decoded);
    expect(bpe.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decodedSkippingSpecialTokens);
    expect(bpe.decode(Int32Array.from(c.ids))).toBe(c.decoded);
  });

  it('encodes a batch as one text at a time', () => {
    const texts = expected.bpe.encode.map((c) => c.text);
    expect(bpe.encodeBatch(texts)).toEqual(expected.bpe.encode.map((c) => c.ids));
    expect(bpe.encodeBatch(texts, { addSpecialTokens: false })).toEqual(expected.bpe.encode.map((c) => c.idsWithoutSpecialTokens));
  });

  it('reports the vocabulary size, special ids and eos ids transformers reports', () => {
    expect(bpe.vocabSize).toBe(expected.bpe.vocabSize);
    expect([bpe.bosId, bpe.eosId, bpe.padId]).toEqual([expected.bpe.special.bos, expected.bpe.special.eos, expected.bpe.special.pad]);
    // eos_token is an AddedToken object in tokenizer_config.json
    expect([bpe.bosToken, bpe.eosToken, bpe.padToken]).toEqual(['<s>', '<|im_end|>', '<pad>']);
    expect([...bpe.eosIds].sort()).toEqual([...expected.bpe.eosIds].sort());
    expect(bpe.modelMaxLength).toBe(2048);
  });

  it('maps tokens to ids and back as Python does', () => {
    for (const [token, id] of Object.entries(expected.bpe.tokens)) {
      expect(bpe.tokenToId(token), token).toBe(id ?? undefined);
      if (id !== null) expect(bpe.idToToken(id)).toBe(token);
    }
    expect(bpe.idToToken(expected.bpe.vocabSize)).toBeUndefined();
    expect(bpe.idToToken(-1)).toBeUndefined();
  });

  it('decodes no ids to "" and rejects ids outside the vocabulary', () => {
    expect(bpe.decode([])).toBe('');
    for (const id of [expected.bpe.vocabSize, -1, 1.5, Number.NaN]) {
      expect(() => bpe.decode([5, id])).toThrow(RangeError);
    }
    expect(() => bpe.decode([expected.bpe.vocabSize])).toThrow(`token id ${expected.bpe.vocabSize} is not in the vocabulary (ids 0..${expected.bpe.vocabSize - 1})`);
  });

  it.each(expected.bpe.postProcessorOverrides.map((o) => [JSON.stringify(o.flags), o] as const))(
    'leaves the post-processor in charge when tokenizer_config.json says %s, as transformers does',
    async (_, o) => {
      const dir = await tokenizerDir({ 'tokenizer.json': bpeTokenizerJson, 'tokenizer_config.json': { ...bpeConfig, ...o.flags } });
      const tok = await Tokenizer.load(dir);
      for (const c of o.cases) expect(tok.encode(c.text)).toEqual(c.ids);
    },
  );
});

describe('chat templates (rendered by transformers with jinja2)', () => {
  const llamaLike = Tokenizer.fromJSON({ tokenizer: bpeTokenizerJson, config: { ...bpeConfig, chat_template: expected.bpe.chatTemplates['llama-like'] } });
  const withTemplate = (c: ChatCase) => (c.template === 'chatml' ? bpe : llamaLike);

  it('reads the ChatML template from tokenizer_config.json', () => {
    expect(bpe.hasChatTemplate).toBe(true);
    expect(bpe.chatTemplate).toBe(expected.bpe.chatTemplates.chatml);
  });

  it.each(expected.bpe.chat.map((c) => [`${c.template}: ${c.name}, addGenerationPrompt ${c.addGenerationPrompt}, ${JSON.stringify(c.templateVariables ?? {})}`, c] as const))(
    '%s',
    (_, c) => {
      const rendered = withTemplate(c).applyChatTemplate(c.messages, { addGenerationPrompt: c.addGenerationPrompt, templateVariables: c.templateVariables });
      expect(rendered).toBe(c.rendered);
      // apply_chat_template(tokenize=True) encodes without the post-processor's BOS
      if (c.ids) expect(bpe.encode(rendered, { addSpecialTokens: false })).toEqual(c.ids);
    },
  );

  it('adds the generation prompt by default', () => {
    const c = expected.bpe.chat.find((x) => x.template === 'chatml' && x.addGenerationPrompt)!;
    expect(bpe.applyChatTemplate(c.messages)).toBe(c.rendered);
  });

  it("passes on the template's raise_exception message", () => {
    expect(() => bpe.applyChatTemplate([{ role: 'tool', content: 'x' }])).toThrow(expected.bpe.unknownRoleError);
  });

  it('formats and encodes a prompt as one user turn when there is a template', () => {
    const c = expected.bpe.chat.find((x) => x.template === 'chatml' && x.name === 'one user turn' && x.addGenerationPrompt)!;
    const prompt = c.messages[0].content;
    expect(bpe.formatPrompt(prompt)).toBe(c.rendered);
    expect(bpe.encodePrompt(prompt)).toEqual(c.ids);
  });

  it('falls back to the plain text when there is no template', () => {
    const prompt = 'Once upon a time\n';
    expect(bytes.formatPrompt(prompt)).toBe(prompt);
    expect(bytes.encodePrompt(prompt)).toEqual(utf8(prompt));
    expect(() => bytes.applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(/no chat template/);
  });

  it('prefers chat_template.jinja over tokenizer_config.json, as transformers does', async () => {
    const dir = await tokenizerDir({
      'tokenizer.json': bpeTokenizerJson,
      'tokenizer_config.json': bpeConfig,
      'chat_template.jinja': expected.bpe.chatTemplates['llama-like'],
    });
    const tok = await Tokenizer.load(dir);
    const c = expected.bpe.chat.find((x) => x.template === 'llama-like' && Object.keys(x.templateVariables ?? {}).length === 0)!;
    expect(tok.applyChatTemplate(c.messages)).toBe(c.rendered);
  });

  it('uses the "default" entry of a list of named templates', () => {
    const named = (names: string[]) =>
      Tokenizer.fromJSON({ tokenizer: bpeTokenizerJson, config: { ...bpeConfig, chat_template: names.map((name) => ({ name, template: name === 'default' ? expected.bpe.chatTemplates.chatml : 'x' })) } });
    const c = expected.bpe.chat.find((x) => x.template === 'chatml')!;
    expect(named(['tool_use', 'default']).applyChatTemplate(c.messages, { addGenerationPrompt: c.addGenerationPrompt })).toBe(c.rendered);
    const noDefault = named(['tool_use', 'rag']);
    expect(noDefault.hasChatTemplate).toBe(false);
    expect(() => noDefault.applyChatTemplate(c.messages)).toThrow(/names only tool_use, rag/);
  });

  it('rejects a template that does not parse when loading, naming the file', async () => {
    const dir = await tokenizerDir({ 'tokenizer.json': bpeTokenizerJson, 'tokenizer_config.json': { ...bpeConfig, chat_template: '{% for m in messages %}{{ m.content }}' } });
    await expect(Tokenizer.load(dir)).rejects.toThrow(`${join(dir, 'tokenizer_config.json')}: cannot parse chat_template`);
  });
});

describe('bad tokenizer directories', () => {
  it('names the missing tokenizer.json', async () => {
    const dir = await tokenizerDir({ 'tokenizer_config.json': bpeConfig });
    await expect(Tokenizer.load(dir)).rejects.toThrow(`${join(dir, 'tokenizer.json')} not found`);
    await expect(Tokenizer.load(join(scratch, 'no-such-dir'))).rejects.toThrow(join(scratch, 'no-such-dir', 'tokenizer.json'));
  });

  it('names the file with corrupt JSON', async () => {
    const text = JSON.stringify(bpeTokenizerJson);
    const corrupt = await tokenizerDir({ 'tokenizer.json': text.slice(0, text.length / 2) });
    await expect(Tokenizer.load(corrupt)).rejects.toThrow(`${join(corrupt, 'tokenizer.json')}: invalid JSON`);
    const badConfig = await tokenizerDir({ 'tokenizer.json': bpeTokenizerJson, 'tokenizer_config.json': '{"eos_token": ' });
    await expect(Tokenizer.load(badConfig)).rejects.toThrow(`${join(badConfig, 'tokenizer_config.json')}: invalid JSON`);
    const badGeneration = await tokenizerDir({ 'tokenizer.json': bpeTokenizerJson, 'generation_config.json': '[1, 2]' });
    await expect(Tokenizer.load(badGeneration)).rejects.toThrow(`${join(badGeneration, 'generation_config.json')}: expected a JSON object`);
  });

  it('names the file and the model type it cannot handle', async () => {
    const dir = await tokenizerDir({ 'tokenizer.json': { ...bpeTokenizerJson, model: { type: 'WordLevel', vocab: {}, unk_token: '[UNK]' } } });
    await expect(Tokenizer.load(dir)).rejects.toThrow(`${join(dir, 'tokenizer.json')}: unsupported tokenizer model type "WordLevel"`);
  });

  it('names the file whose special token or eos id the vocabulary lacks', async () => {
    const badEos = await tokenizerDir({ 'tokenizer.json': bpeTokenizerJson, 'tokenizer_config.json': { ...bpeConfig, eos_token: '<|eot|>' } });
    await expect(Tokenizer.load(badEos)).rejects.toThrow(`${join(badEos, 'tokenizer_config.json')}: eos_token "<|eot|>" is not in the vocabulary`);
    const badId = await tokenizerDir({ 'tokenizer.json': bpeTokenizerJson, 'generation_config.json': { eos_token_id: [2, 99999] } });
    await expect(Tokenizer.load(badId)).rejects.toThrow(`${join(badId, 'generation_config.json')}: eos_token_id[1] 99999 is not in the vocabulary`);
  });

  it('takes special tokens from special_tokens_map.json over tokenizer_config.json, as transformers does', async () => {
    const { specialTokensMap, eosToken, eosId } = expected.bpe.specialTokensMapOverride;
    const dir = await tokenizerDir({ 'tokenizer.json': bpeTokenizerJson, 'tokenizer_config.json': bpeConfig, 'special_tokens_map.json': specialTokensMap });
    const tok = await Tokenizer.load(dir);
    expect([tok.eosToken, tok.eosId, [...tok.eosIds]]).toEqual([eosToken, eosId, [eosId]]);
  });
});
