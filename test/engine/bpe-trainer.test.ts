// The byte-level BPE trainer against independent references: a naive trainer written here (every
// pair recounted at every step) for the merges, Node's UTF-8 encoder for round trips, and the ids
// Python's `tokenizers` and transformers recorded for a tokenizer.json the trainer wrote
// (test/fixtures/tokenizer/bpe-trained/, see make_expected.py there).
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  byteToUnicode,
  createByteTokenizer,
  createByteTokenizerConfig,
  saveBpeTokenizer,
  Tokenizer,
  trainByteLevelBpe,
  type TokenizerJson,
} from '../../ts/engine/tokenizer.js';
import { BROWN_FILES, brownText } from '../fixtures/tokenizer/bpe-trained/brown.js';
import { FIXTURE_FILES, FIXTURE_OPTIONS } from '../fixtures/tokenizer/bpe-trained/make_tokenizer.js';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/tokenizer/bpe-trained/', import.meta.url));
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

const scratch = await mkdtemp(join(tmpdir(), 'moalign-bpe-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

type Merge = [string, string];
const modelOf = (json: TokenizerJson) => json.model as { vocab: Record<string, number>; merges: Merge[] };

/**
 * The spec of trainByteLevelBpe(), written for clarity, not speed: cut at the special tokens, split
 * with GPT-2's regex, UTF-8 bytes via Buffer; then at every step recount all adjacent pairs, take
 * the most frequent (ties: the smaller rank of the left, then the right token, where a byte ranks
 * by its character's code point and before every learned token, learned tokens in learning order),
 * and merge it left to right in every word. Never learns a special token's spelling.
 */
function naiveTrain(texts: string[], vocabSize: number, specialTokens: string[], minFrequency: number): { merges: Merge[]; learned: string[] } {
  const byteChar = byteToUnicode();
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    let segments = [text];
    for (const special of [...specialTokens].sort((a, b) => b.length - a.length)) segments = segments.flatMap((s) => s.split(special));
    for (const segment of segments) {
      for (const [piece] of segment.matchAll(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu)) {
        const key = JSON.stringify([...Buffer.from(piece, 'utf8')].map((b) => byteChar[b]));
        wordCounts.set(key, (wordCounts.get(key) ?? 0) + 1);
      }
    }
  }
  const words = [...wordCounts].map(([key, count]) => ({ symbols: JSON.parse(key) as string[], count }));
  const learned: string[] = [];
  const merges: Merge[] = [];
  const rank = (token: string) => (token.length === 1 ? token.codePointAt(0)! : 1e6 + learned.indexOf(token));
  while (256 + specialTokens.length + learned.length < vocabSize) {
    const pairs = new Map<string, { pair: Merge; count: number }>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const pair: Merge = [symbols[i], symbols[i + 1]];
        if (specialTokens.includes(pair[0] + pair[1])) continue;
        const entry = pairs.get(JSON.stringify(pair)) ?? { pair, count: 0 };
        entry.count += count;
        pairs.set(JSON.stringify(pair), entry);
      }
    }
    const best = [...pairs.values()].sort((a, b) => b.count - a.count || rank(a.pair[0]) - rank(b.pair[0]) || rank(a.pair[1]) - rank(b.pair[1]))[0];
    if (!best || best.count < minFrequency) break;
    const [left, right] = best.pair;
    merges.push([left, right]);
    if (!learned.includes(left + right)) learned.push(left + right);
    for (const word of words) {
      const out: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === left && word.symbols[i + 1] === right) {
          out.push(left + right);
          i++;
        } else out.push(word.symbols[i]);
      }
      word.symbols = out;
    }
  }
  return { merges, learned };
}

/** Checks trainByteLevelBpe() against naiveTrain(): same merges, same ids. */
function expectSameAsNaive(texts: string[], vocabSize: number, specialTokens: string[] = ['<|endoftext|>', '<|pad|>'], minFrequency = 2): Merge[] {
  const { merges, learned } = naiveTrain(texts, vocabSize, specialTokens, minFrequency);
  const model = modelOf(trainByteLevelBpe(texts, { vocabSize, specialTokens, minFrequency }));
  expect(model.merges).toEqual(merges);
  const expectedVocab: Record<string, number> = {};
  byteToUnicode().forEach((char, byte) => (expectedVocab[char] = byte));
  specialTokens.forEach((token, i) => (expectedVocab[token] = 256 + i));
  learned.forEach((token, i) => Object.defineProperty(expectedVocab, token, { value: 256 + specialTokens.length + i, enumerable: true }));
  expect(model.vocab).toEqual(expectedVocab);
  return merges;
}

const utf8 = (s: string) => [...Buffer.from(s, 'utf8')];

// Brown files for training and, every tenth one, held out for measuring.
const heldOut = BROWN_FILES.filter((_, i) => i % 10 === 0);
const trainFiles = BROWN_FILES.filter((_, i) => i % 10 !== 0);

describe('trainByteLevelBpe: merges', () => {
  it('learns the merges a naive trainer learns from English text', () => {
    const text = brownText('cb01').slice(0, 4000);
    const merges = expectSameAsNaive([text], 400);
    expect(merges.length).toBeGreaterThan(100);
  });

  it('learns the merges a naive trainer learns from awkward text: repeats, unicode, special tokens inside', () => {
    const texts = [
      'aaaa aaa aa a aaaaa abab ababab baba',
      'naïve café déjà 日本語 日本 🤗🤗 👍🏽👍🏽 \n\n\n \t\t x  y   z',
      "it's they're we'll I'd 12 123 1234 -- ... !!",
      'one<|endoftext|>two<|pad|>one<|endoftext|>two',
    ];
    expectSameAsNaive(texts, 320, undefined, 1);
    expectSameAsNaive(texts, 320, undefined, 2);
    // a special token spelled like a pair the corpus would merge first (" a" is "Ġa" in tokenizer.json)
    expectSameAsNaive(texts, 300, ['Ġa'], 1);
  });

  it('learns the merges a naive trainer learns from random corpora full of ties', () => {
    const unit = fc.constantFrom('a', 'b', 'ab', ' ', '  ', '\n', 'é', '🤗', '1', "'s", '<|pad|>');
    fc.assert(
      fc.property(fc.array(fc.string({ unit, maxLength: 24 }), { maxLength: 6 }), fc.integer({ min: 258, max: 300 }), fc.integer({ min: 1, max: 3 }), (texts, vocabSize, minFrequency) => {
        expectSameAsNaive(texts, vocabSize, undefined, minFrequency);
      }),
      { numRuns: 200 },
    );
  });

  it('puts the bytes at 0..255, the special tokens next, then the learned tokens in merge order', () => {
    const json = trainByteLevelBpe([brownText('ca03')], { vocabSize: 300, specialTokens: ['<eos>', '<sep>', '<bos>'] });
    const { vocab, merges } = modelOf(json);
    const byteJson = createByteTokenizer({ specialTokens: ['<eos>', '<sep>', '<bos>'] });
    for (const [char, id] of Object.entries(modelOf(byteJson).vocab)) expect(vocab[char]).toBe(id);
    expect(json.added_tokens).toEqual(byteJson.added_tokens);
    expect([vocab['<eos>'], vocab['<sep>'], vocab['<bos>']]).toEqual([256, 257, 258]);
    expect(merges).toHaveLength(300 - 259);
    merges.forEach(([left, right], i) => expect(vocab[left + right]).toBe(259 + i));
    expect(Object.keys(vocab)).toHaveLength(300);
    // everything but the model's vocabulary and merges is the byte tokenizer's
    expect({ ...json, model: { ...json.model, vocab: {}, merges: [] } }).toStrictEqual({ ...byteJson, model: { ...byteJson.model, vocab: {}, merges: [] } });
  });

  it('never merges across a special token in the training text', () => {
    const { vocab } = modelOf(trainByteLevelBpe(Array(20).fill('ab<eos>cd'), { vocabSize: 1000, specialTokens: ['<eos>'] }));
    expect(Object.keys(vocab).filter((token) => token.length > 1)).toEqual(['<eos>', 'ab', 'cd']);
  });

  it('stops at minFrequency and reports progress towards the target', () => {
    const progress: [number, number][] = [];
    const text = 'low lower lowest newer newest wider';
    const json = trainByteLevelBpe([text], { vocabSize: 1000, onProgress: (merges, target) => progress.push([merges, target]) });
    const merges = modelOf(json).merges;
    expect(merges.length).toBeGreaterThan(0);
    expect(merges.length).toBeLessThan(1000 - 258);
    expect(progress).toEqual(merges.map((_, i) => [i + 1, 1000 - 258]));
    // with minFrequency 1 it goes on until every piece is one token
    const all = modelOf(trainByteLevelBpe([text], { vocabSize: 1000, minFrequency: 1 }));
    expect(all.merges.length).toBeGreaterThan(merges.length);
    for (const piece of ['low', 'Ġlower', 'Ġwider']) expect(all.vocab[piece]).toBeDefined();
  });

  it('is deterministic and keeps "__proto__" an ordinary token', () => {
    const texts = [brownText('cc01'), 'obj.__proto__ = x; y.__proto__; z.__proto__'];
    const a = trainByteLevelBpe(texts, { vocabSize: 500 });
    expect(trainByteLevelBpe(texts, { vocabSize: 500 })).toStrictEqual(a);
    // GPT-2's split never makes "__proto__" one piece, but a special token can be spelled so
    const proto = trainByteLevelBpe(Array(5).fill('constructor __proto__'), { vocabSize: 300, specialTokens: ['__proto__'] });
    expect(Object.hasOwn(modelOf(proto).vocab, '__proto__')).toBe(true);
    const tok = Tokenizer.fromJSON({ tokenizer: JSON.parse(JSON.stringify(proto)) });
    expect(tok.encode('constructor __proto__')).toEqual([modelOf(proto).vocab.constructor, tok.tokenToId('Ġ'), 256]);
  });

  it('checks its options', () => {
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 257 })).toThrow(/vocabSize must be an integer from 258/);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300.5 })).toThrow(RangeError);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 2 ** 21 + 1 })).toThrow(RangeError);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300, minFrequency: 0 })).toThrow(/minFrequency/);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300, specialTokens: ['a'] })).toThrow(/collides with a byte token/);
    expect(() => trainByteLevelBpe([3 as unknown as string], { vocabSize: 300 })).toThrow(/texts must be strings/);
    // no special tokens: the vocabulary can be just the bytes
    expect(modelOf(trainByteLevelBpe(['abab'], { vocabSize: 256, specialTokens: [] })).merges).toEqual([]);
  });
});

describe('trained tokenizer: encode and decode', () => {
  const texts = [...trainFiles.slice(0, 20).map(brownText), 'naïve café 日本語 🤗👍🏽\n\n\t  x'];
  const dir = join(scratch, 'round-trip');
  const saved = saveBpeTokenizer(dir, texts, { vocabSize: 700, modelMaxLength: 128 });

  it('saves tokenizer.json and tokenizer_config.json, nothing else', async () => {
    const json = await saved;
    expect((await readdir(dir)).sort()).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(readJson(join(dir, 'tokenizer.json'))).toStrictEqual(json);
    expect(readJson(join(dir, 'tokenizer_config.json'))).toStrictEqual(createByteTokenizerConfig({ modelMaxLength: 128 }));
    const tok = await Tokenizer.load(dir);
    expect([tok.vocabSize, tok.eosId, tok.padId, tok.modelMaxLength]).toEqual([700, 256, 257, 128]);
  });

  it('decodes the encoding of any well-formed string back to it, special tokens included', async () => {
    await saved;
    const tok = await Tokenizer.load(dir);
    const byteOf = new Map(byteToUnicode().map((char, byte) => [char, byte]));
    const awkward = fc.constantFrom('\0', '\n', '\r\n', ' ', '  ', '\t', '\ufeff', '\u0085', '\u00a0', 'é', 'e\u0301', '日本', '🤗', '👨\u200d👩\u200d👧', "'s", ' the', 'The', ' 1961', '<|endoftext|>', '<|pad|>', '<|', 'a', '1');
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 32 }), fc.string({ unit: awkward, maxLength: 32 }));
    fc.assert(
      fc.property(text, (s) => {
        const ids = tok.encode(s);
        expect(tok.decode(ids)).toBe(s);
        // outside the special tokens, the tokens spell the text's UTF-8 bytes
        const plain = s.replaceAll('<|endoftext|>', '').replaceAll('<|pad|>', '');
        const bytes = tok.encode(plain).flatMap((id) => [...tok.idToToken(id)!].map((char) => byteOf.get(char)!));
        expect(bytes).toEqual(utf8(plain));
      }),
      { numRuns: 500 },
    );
  });

  it('merges what it learned: common English words are single tokens', async () => {
    await saved;
    const tok = await Tokenizer.load(dir);
    for (const word of [' the', ' of', ' and', 'The']) expect(tok.encode(word), word).toHaveLength(1);
    const ids = tok.encode('The jury said<|endoftext|>');
    expect(ids.at(-1)).toBe(256);
    expect(ids.length).toBeLessThanOrEqual(6);
  });
});

describe('trained tokenizer: Python parity (tokenizers and transformers read the trainer\'s file)', () => {
  const expected = readJson(join(FIXTURE_DIR, 'expected.json')) as {
    vocabSize: number;
    tokens: (string | null)[];
    mergeCount: number;
    transformers: { vocabSize: number; eosToken: string; eosId: number; padToken: string; padId: number; modelMaxLength: number; sameIdsAsTokenizers: boolean };
    encode: { text: string; ids: number[]; decoded: string; decodedSkippingSpecialTokens: string }[];
  };
  const loaded = Tokenizer.load(FIXTURE_DIR);

  it('is the file the trainer writes today for the fixture corpus', () => {
    expect(trainByteLevelBpe(FIXTURE_FILES.map(brownText), FIXTURE_OPTIONS)).toStrictEqual(readJson(join(FIXTURE_DIR, 'tokenizer.json')));
    expect(readJson(join(FIXTURE_DIR, 'tokenizer_config.json'))).toStrictEqual(createByteTokenizerConfig(FIXTURE_OPTIONS));
    expect(modelOf(readJson(join(FIXTURE_DIR, 'tokenizer.json'))).merges).toHaveLength(expected.mergeCount);
  });

  it.each(expected.encode.map((c) => [JSON.stringify(c.text), c] as const))('encodes and decodes %s as Python does', async (_, c) => {
    const tok = await loaded;
    expect(tok.encode(c.text)).toEqual(c.ids);
    expect(tok.decode(c.ids)).toBe(c.decoded);
    expect(tok.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decodedSkippingSpecialTokens);
    expect(c.decoded).toBe(c.text);
  });

  it('has the vocabulary and special tokens Python and transformers see', async () => {
    const tok = await loaded;
    expect(tok.vocabSize).toBe(expected.vocabSize);
    expect(expected.transformers.vocabSize).toBe(expected.vocabSize);
    expected.tokens.forEach((token, id) => expect(tok.idToToken(id), `id ${id}`).toBe(token ?? undefined));
    const t = expected.transformers;
    expect(t.sameIdsAsTokenizers).toBe(true);
    expect([tok.eosToken, tok.eosId, tok.padToken, tok.padId, tok.modelMaxLength]).toEqual([t.eosToken, t.eosId, t.padToken, t.padId, t.modelMaxLength]);
  });
});

describe('trained tokenizer: compression on the Brown corpus', () => {
  it('needs far fewer tokens per character than the byte tokenizer on held-out text', () => {
    const held = heldOut.map(brownText);
    const chars = held.reduce((n, t) => n + t.length, 0);
    const tokensPerChar = (tokenizer: TokenizerJson) => {
      const tok = Tokenizer.fromJSON({ tokenizer });
      return held.reduce((n, t) => n + tok.encode(t).length, 0) / chars;
    };
    const bpe = trainByteLevelBpe(trainFiles.map(brownText), { vocabSize: 1024 });
    expect(Object.keys(modelOf(bpe).vocab)).toHaveLength(1024);
    // measured 0.379 (bytes: 1.0, as Brown is ASCII)
    expect(tokensPerChar(bpe)).toBeLessThan(0.45);
    expect(tokensPerChar(createByteTokenizer())).toBeGreaterThanOrEqual(1);
  });
});
