// Trains a byte-level BPE tokenizer (GPT-2 style, as the `tokenizers` BpeTrainer does) on a text
// corpus, so a from-scratch model can get a compact vocabulary without downloading one. The result
// is the byte tokenizer of byte-tokenizer.ts plus learned merges: Tokenizer.load(), Python's
// `tokenizers` and transformers read it alike.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  byteToUnicode,
  createByteTokenizer,
  createByteTokenizerConfig,
  DEFAULT_BYTE_SPECIAL_TOKENS,
  type ByteTokenizerOptions,
} from './byte-tokenizer.js';
import type { TokenizerJson } from './tokenizer.js';
import { writeTextAtomic } from '../util/atomic-file.js';

export interface BpeTrainerOptions extends ByteTokenizerOptions {
  /**
   * Size of the whole vocabulary: the 256 byte tokens, the special tokens and the learned tokens.
   * Training stops earlier when no pair occurs `minFrequency` times.
   */
  vocabSize: number;
  /** A pair is merged only if it occurs at least this often in the corpus. Default 2. */
  minFrequency?: number;
  /**
   * Called after each learned token with the number learned so far and the number wanted
   * (vocabSize - 256 - special tokens); training may stop short of the target.
   */
  onProgress?: (merges: number, target: number) => void;
}

// A pair of token ids as one number: ids stay below 2^21 (vocabSize is checked), so the key is exact.
const PAIR_SHIFT = 2 ** 21;
const pairKey = (left: number, right: number) => left * PAIR_SHIFT + right;

/**
 * GPT-2's pre-tokenizer split, as @huggingface/tokenizers' ByteLevel pre-tokenizer (use_regex true,
 * no prefix space) applies it when Tokenizer.load() encodes. Merges never cross these pieces.
 */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Learns byte-level BPE merges from `texts` and returns the tokenizer.json object.
 *
 * Ids: 0..255 are the bytes (as in createByteTokenizer), the special tokens follow from 256 (so eos
 * and pad keep the byte tokenizer's ids whatever the vocabulary size), then the learned tokens in
 * the order they were merged. `merges` is a list of [left, right] pairs, the format `tokenizers`
 * 0.23 writes, earliest (highest priority) first.
 *
 * Each text is cut at the special tokens (encode() never merges across them either), split with
 * GPT-2's regex and UTF-8 encoded; then the most frequent adjacent pair of tokens, counted over
 * the distinct pieces weighted by their frequency, is merged, again and again. Ties go to the pair
 * whose left token, then right token, ranks first, where the bytes rank in the code point order of
 * their tokenizer.json characters ("!" first, "Ń" last) and before every learned token, and
 * learned tokens rank in the order they were learned. That is the order `tokenizers`' BpeTrainer
 * breaks ties in (its ids while training), so both learn the same merges from the same corpus
 * (unless it holds special tokens, which `tokenizers` trains on as text); and the result depends
 * only on the corpus and the options.
 * Within a piece, occurrences are merged left to right ("a a a" -> "aa a"), as encode() does.
 * Like `tokenizers`, a merge whose token already exists (the same string by another split) adds a
 * merge but no new id; a merge that would spell a special token is never made.
 */
export function trainByteLevelBpe(texts: Iterable<string>, options: BpeTrainerOptions): TokenizerJson {
  const { vocabSize, minFrequency = 2, onProgress } = options;
  // Validates the special tokens, eos and pad as the byte tokenizer does.
  const tokenizer = createByteTokenizer(options);
  const specialTokens = options.specialTokens ?? DEFAULT_BYTE_SPECIAL_TOKENS;
  const firstLearnedId = 256 + specialTokens.length;
  if (!Number.isInteger(vocabSize) || vocabSize < firstLearnedId || vocabSize > PAIR_SHIFT) {
    throw new RangeError(`BPE trainer: vocabSize must be an integer from ${firstLearnedId} (256 bytes + ${specialTokens.length} special tokens) to ${PAIR_SHIFT}, got ${vocabSize}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new RangeError(`BPE trainer: minFrequency must be a positive integer, got ${minFrequency}`);

  const words = countWords(texts, specialTokens);
  const learned = learnMerges(words, vocabSize - firstLearnedId, minFrequency, new Set(specialTokens), onProgress);

  const model = tokenizer.model as { vocab: Record<string, number>; merges: [string, string][] };
  // The special tokens go into the model's vocabulary too, as tokenizers' BpeTrainer puts them:
  // Python's `tokenizers` ignores an added token's id when the model lacks the token and numbers
  // it after the model's vocabulary instead, which would move them past the learned tokens.
  // fromEntries makes every token an own property, even a special token spelled "__proto__".
  model.vocab = Object.fromEntries([
    ...Object.entries(model.vocab),
    ...specialTokens.map((token, i) => [token, 256 + i] as const),
    ...learned.tokens.map((token, i) => [token, firstLearnedId + i] as const),
  ]);
  model.merges = learned.merges;
  return tokenizer;
}

/**
 * Trains as trainByteLevelBpe() and writes `dir/tokenizer.json` and `dir/tokenizer_config.json`
 * (eos/pad, model_max_length) like saveByteTokenizer(): each file complete or not at all.
 */
export async function saveBpeTokenizer(dir: string, texts: Iterable<string>, options: BpeTrainerOptions): Promise<TokenizerJson> {
  const tokenizer = trainByteLevelBpe(texts, options);
  const config = createByteTokenizerConfig(options);
  await mkdir(dir, { recursive: true });
  await writeTextAtomic(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer, null, 2) + '\n');
  await writeTextAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  return tokenizer;
}

/** A distinct pre-tokenized piece: its symbols (token ids, bytes at first) and how often it occurs. */
interface Word {
  symbols: number[];
  count: number;
}

/** Splits every text at the special tokens and with GPT-2's regex, and counts the distinct pieces as byte sequences. */
function countWords(texts: Iterable<string>, specialTokens: readonly string[]): Word[] {
  // Longest first, so a special token that contains another wins, as in tokenizers' added-token matching.
  const specials = [...specialTokens].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const specialSplit = specials.length > 0 ? new RegExp(specials.join('|'), 'u') : undefined;
  const pieces = new Map<string, number>();
  for (const text of texts) {
    if (typeof text !== 'string') throw new TypeError(`BPE trainer: texts must be strings, got ${typeof text}`);
    for (const segment of specialSplit ? text.split(specialSplit) : [text]) {
      for (const [piece] of segment.matchAll(GPT2_SPLIT)) pieces.set(piece, (pieces.get(piece) ?? 0) + 1);
    }
  }
  // UTF-8 bytes, as encode() sees them (TextEncoder writes a lone surrogate as U+FFFD there too).
  const encoder = new TextEncoder();
  const words = new Map<string, Word>();
  for (const [piece, count] of pieces) {
    const bytes = encoder.encode(piece);
    // Two pieces can give the same bytes (two lone surrogates both become U+FFFD): one word.
    const key = bytes.join(',');
    const word = words.get(key);
    if (word) word.count += count;
    else words.set(key, { symbols: Array.from(bytes), count });
  }
  return [...words.values()];
}


/**
 * The BPE loop. Pair counts are kept up to date incrementally: merging (A, B) only touches the
 * words `where` lists for it, and only the pairs next to a merged occurrence change. The next pair
 * comes from a max-heap whose entries may be stale: an entry is never below its pair's true count
 * (a new entry is pushed whenever a count grows), so when the top entry matches its pair's count,
 * that pair is the most frequent one.
 */
function learnMerges(words: Word[], target: number, minFrequency: number, specialTokens: ReadonlySet<string>, onProgress: BpeTrainerOptions['onProgress']) {
  // Internal ids: 0..255 the bytes, then learned tokens in order (the specials are left out here).
  const strings = byteToUnicode();
  const idOf = new Map(strings.map((s, id) => [s, id]));
  const merges: [string, string][] = [];
  const forbidden = new Set<number>();

  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  words.forEach(({ symbols, count }, w) => {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      counts.set(key, (counts.get(key) ?? 0) + count);
      let set = where.get(key);
      if (!set) where.set(key, (set = new Set()));
      set.add(w);
    }
  });

  // Tie-break ranks, the ids tokenizers' BpeTrainer works with: its alphabet (the 256 byte
  // characters) sorted by code point, then learned tokens in order.
  const byteRank = new Array<number>(256);
  [...strings.keys()].sort((a, b) => strings[a].codePointAt(0)! - strings[b].codePointAt(0)!).forEach((id, rank) => (byteRank[id] = rank));
  const heap = new PairHeap((id) => (id < 256 ? byteRank[id] : id));
  for (const [key, count] of counts) heap.push(count, Math.floor(key / PAIR_SHIFT), key % PAIR_SHIFT);

  while (strings.length - 256 < target) {
    const top = heap.pop();
    if (!top) break;
    const key = pairKey(top.left, top.right);
    const count = counts.get(key) ?? 0;
    // Stale entry: a larger one was pushed for a grown count, or the count has shrunk since.
    if (count !== top.count) {
      if (count > 0 && count < top.count) heap.push(count, top.left, top.right);
      continue;
    }
    if (count < minFrequency) break;
    if (forbidden.has(key)) continue;
    const token = strings[top.left] + strings[top.right];
    if (specialTokens.has(token)) {
      // Learning it would give one string two ids; the pair is never merged.
      forbidden.add(key);
      continue;
    }
    let merged = idOf.get(token);
    if (merged === undefined) {
      merged = strings.length;
      strings.push(token);
      idOf.set(token, merged);
      onProgress?.(strings.length - 256, target);
    }
    merges.push([strings[top.left], strings[top.right]]);

    const delta = new Map<number, number>();
    const grown = new Map<number, Set<number>>();
    for (const w of where.get(key) ?? []) mergeWord(words[w], w, top.left, top.right, merged, delta, grown);
    where.delete(key);
    for (const [pair, change] of delta) {
      if (change === 0) continue;
      const next = (counts.get(pair) ?? 0) + change;
      if (next === 0) counts.delete(pair);
      else counts.set(pair, next);
      if (change > 0) heap.push(next, Math.floor(pair / PAIR_SHIFT), pair % PAIR_SHIFT);
    }
    for (const [pair, added] of grown) {
      const set = where.get(pair);
      if (set) for (const w of added) set.add(w);
      else where.set(pair, added);
    }
  }
  return { tokens: strings.slice(256), merges };
}

/**
 * Merges every (left, right) in one word, left to right, and records the pair-count changes
 * (weighted by the word's count) and the pairs the word newly holds. A pair changes only if it
 * touches a merged occurrence: in the old word, pairs with a merged symbol go; in the new one,
 * pairs with the new token come. The word index is not pruned: a word that no longer holds a pair
 * is scanned for nothing.
 */
function mergeWord(word: Word, w: number, left: number, right: number, merged: number, delta: Map<number, number>, grown: Map<number, Set<number>>): void {
  const old = word.symbols;
  const touched = new Uint8Array(old.length);
  const symbols: number[] = [];
  const isNew: boolean[] = [];
  for (let i = 0; i < old.length; i++) {
    if (i + 1 < old.length && old[i] === left && old[i + 1] === right) {
      touched[i] = touched[i + 1] = 1;
      symbols.push(merged);
      isNew.push(true);
      i++;
    } else {
      symbols.push(old[i]);
      isNew.push(false);
    }
  }
  if (symbols.length === old.length) return;
  const add = (key: number, change: number) => delta.set(key, (delta.get(key) ?? 0) + change);
  for (let i = 0; i + 1 < old.length; i++) {
    if (touched[i] || touched[i + 1]) add(pairKey(old[i], old[i + 1]), -word.count);
  }
  for (let i = 0; i + 1 < symbols.length; i++) {
    if (!isNew[i] && !isNew[i + 1]) continue;
    const key = pairKey(symbols[i], symbols[i + 1]);
    add(key, word.count);
    let set = grown.get(key);
    if (!set) grown.set(key, (set = new Set()));
    set.add(w);
  }
  word.symbols = symbols;
}

interface HeapEntry {
  count: number;
  left: number;
  right: number;
}

/** Binary max-heap of pairs: higher count first, then the smaller (rank of left, rank of right). */
class PairHeap {
  readonly #items: HeapEntry[] = [];
  /** The tie-break rank of each internal id (trainByteLevelBpe() says which). */
  readonly #rank: (id: number) => number;

  constructor(rank: (id: number) => number) {
    this.#rank = rank;
  }

  /** Whether a should come out before b. */
  #before(a: HeapEntry, b: HeapEntry): boolean {
    if (a.count !== b.count) return a.count > b.count;
    if (a.left !== b.left) return this.#rank(a.left) < this.#rank(b.left);
    return this.#rank(a.right) < this.#rank(b.right);
  }

  push(count: number, left: number, right: number): void {
    const items = this.#items;
    const entry = { count, left, right };
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(entry, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = entry;
  }

  pop(): HeapEntry | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= items.length) break;
        const child = l + 1 < items.length && this.#before(items[l + 1], items[l]) ? l + 1 : l;
        if (!this.#before(items[child], last)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
