// The byte-level tokenizer for tiny models trained from scratch: one id per UTF-8 byte, then a few
// special tokens. It is an ordinary Hugging Face tokenizer.json (a BPE with no merges), so
// Tokenizer.load(), Python's `tokenizers` and transformers all read it.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTextAtomic } from '../util/atomic-file.js';
import type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from './tokenizer.js';

export interface ByteTokenizerOptions {
  /**
   * Special tokens, given ids 256, 257, ... in this order. Default `['<|endoftext|>', '<|pad|>']`.
   * When one appears in text, encode() gives its id rather than its bytes (as every HF tokenizer does).
   */
  specialTokens?: readonly string[];
  /** The token that ends a sequence. Default: the first special token. */
  eosToken?: string;
  /** The token used for padding. Default: the second special token, else the eos token. */
  padToken?: string;
  /** Context length, written to tokenizer_config.json as `model_max_length` when given. */
  modelMaxLength?: number;
}

export const DEFAULT_BYTE_SPECIAL_TOKENS: readonly string[] = ['<|endoftext|>', '<|pad|>'];

/**
 * GPT-2's byte -> character table (`bytes_to_unicode`): printable bytes map to themselves, the
 * other 68 to U+0100.. in byte order. Byte-level BPE vocabularies spell tokens in these characters
 * so that every token is printable text in tokenizer.json.
 */
export function byteToUnicode(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : next++);
  return table;
}

interface ResolvedOptions {
  specialTokens: readonly string[];
  eosToken: string | undefined;
  padToken: string | undefined;
  modelMaxLength: number | undefined;
}

function resolveOptions(options: ByteTokenizerOptions): ResolvedOptions {
  const specialTokens = options.specialTokens ?? DEFAULT_BYTE_SPECIAL_TOKENS;
  const byteChars = new Set(byteToUnicode());
  const seen = new Set<string>();
  for (const token of specialTokens) {
    if (typeof token !== 'string' || token.length === 0) throw new TypeError('byte tokenizer: special tokens must be non-empty strings');
    // A special token spelled like a byte token would steal that byte from every text.
    if (byteChars.has(token)) throw new TypeError(`byte tokenizer: special token ${JSON.stringify(token)} collides with a byte token`);
    if (seen.has(token)) throw new TypeError(`byte tokenizer: special token ${JSON.stringify(token)} is listed twice`);
    seen.add(token);
  }
  const eosToken = options.eosToken ?? specialTokens[0];
  const padToken = options.padToken ?? specialTokens[1] ?? eosToken;
  for (const [name, token] of [['eosToken', eosToken], ['padToken', padToken]] as const) {
    if (token !== undefined && !seen.has(token)) throw new TypeError(`byte tokenizer: ${name} ${JSON.stringify(token)} is not one of the special tokens`);
  }
  const { modelMaxLength } = options;
  if (modelMaxLength !== undefined && !(Number.isInteger(modelMaxLength) && modelMaxLength > 0)) {
    throw new RangeError(`byte tokenizer: modelMaxLength must be a positive integer, got ${modelMaxLength}`);
  }
  return { specialTokens, eosToken, padToken, modelMaxLength };
}

/**
 * The tokenizer.json object of a byte-level tokenizer: ids 0..255 are the bytes (a BPE whose
 * vocabulary is GPT-2's 256 byte characters and whose merge list is empty), the special tokens
 * follow from 256. ByteLevel pre-tokenizer and decoder, no added prefix space, no post-processor
 * (encode() adds nothing). Field for field what Python's `tokenizers` serialises for the same
 * tokenizer, so both libraries read it alike.
 */
export function createByteTokenizer(options: ByteTokenizerOptions = {}): TokenizerJson {
  const { specialTokens } = resolveOptions(options);
  const vocab: Record<string, number> = {};
  byteToUnicode().forEach((char, byte) => (vocab[char] = byte));
  const added_tokens: AddedTokenJson[] = specialTokens.map((content, i) => ({
    id: 256 + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  // use_regex keeps GPT-2's split, the standard ByteLevel setting: with no merges it cannot change
  // the ids, and it leaves the file ready for merges learned later.
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    // Python's ByteLevel() decoder serialises add_prefix_space: true; decoding ignores the field.
    decoder: { ...byteLevel, add_prefix_space: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
}

/** The tokenizer_config.json that goes with createByteTokenizer(options): eos/pad tokens, no cleanup of decoded text. */
export function createByteTokenizerConfig(options: ByteTokenizerOptions = {}): TokenizerConfigJson {
  const { eosToken, padToken, modelMaxLength } = resolveOptions(options);
  return {
    // transformers' AutoTokenizer reads a plain tokenizer.json through this class.
    tokenizer_class: 'PreTrainedTokenizerFast',
    ...(eosToken !== undefined && { eos_token: eosToken }),
    ...(padToken !== undefined && { pad_token: padToken }),
    clean_up_tokenization_spaces: false,
    ...(modelMaxLength !== undefined && { model_max_length: modelMaxLength }),
  };
}

/**
 * Writes `dir/tokenizer.json` and `dir/tokenizer_config.json` for a byte-level tokenizer, creating
 * `dir` if needed. Each file is written to a temporary file in `dir` and renamed over the target,
 * so a crash never leaves a half-written tokenizer that a later load would misread.
 */
export async function saveByteTokenizer(dir: string, options: ByteTokenizerOptions = {}): Promise<void> {
  const tokenizer = createByteTokenizer(options);
  const config = createByteTokenizerConfig(options);
  await mkdir(dir, { recursive: true });
  await writeTextAtomic(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer, null, 2) + '\n');
  await writeTextAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
}
