// Text <-> token ids for the transformer engine: Hugging Face tokenizer.json files through
// @huggingface/tokenizers, chat templates through @huggingface/jinja (chat-template.ts), and the
// byte-level tokenizer for tiny from-scratch models (byte-tokenizer.ts), which loads the same way.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizerExport } from '@huggingface/tokenizers';
import { ChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat-template.js';

// @huggingface/tokenizers 0.2's .d.ts files import each other without file extensions, which
// NodeNext resolution cannot follow, so its Tokenizer types as `any`. This is the part used here,
// as its dist/tokenizers.mjs implements it.
interface HfTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: (number | undefined)[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens: boolean): Map<string, number>;
}
const HfTokenizer = HfTokenizerExport as unknown as new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;

export { ChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat-template.js';
export {
  byteToUnicode,
  createByteTokenizer,
  createByteTokenizerConfig,
  DEFAULT_BYTE_SPECIAL_TOKENS,
  saveByteTokenizer,
  type ByteTokenizerOptions,
} from './byte-tokenizer.js';
export { saveBpeTokenizer, trainByteLevelBpe, type BpeTrainerOptions } from './bpe-trainer.js';

/** One entry of tokenizer.json's `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** A Hugging Face tokenizer.json, as the `tokenizers` library serialises it. Components stay opaque. */
export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: { type?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** A special token in tokenizer_config.json / special_tokens_map.json: a string, or an AddedToken object. */
export type SpecialTokenJson = string | { content: string; [field: string]: unknown } | null;

/** The fields of tokenizer_config.json this module reads; the rest are kept and ignored. */
export interface TokenizerConfigJson {
  chat_template?: string | { name: string; template: string }[] | null;
  bos_token?: SpecialTokenJson;
  eos_token?: SpecialTokenJson;
  pad_token?: SpecialTokenJson;
  unk_token?: SpecialTokenJson;
  additional_special_tokens?: SpecialTokenJson[];
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  model_max_length?: number;
  clean_up_tokenization_spaces?: boolean;
  [field: string]: unknown;
}

/** The fields of generation_config.json this module reads. */
export interface GenerationConfigJson {
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
  [field: string]: unknown;
}

/** The files of a tokenizer directory, already parsed; only tokenizer.json is required. */
export interface TokenizerFiles {
  /** tokenizer.json */
  tokenizer: TokenizerJson;
  /** tokenizer_config.json */
  config?: TokenizerConfigJson;
  /** special_tokens_map.json (older models keep their special tokens here) */
  specialTokensMap?: Record<string, unknown>;
  /** generation_config.json (chat models often list several eos ids here) */
  generationConfig?: GenerationConfigJson;
  /** chat_template.jinja: when present, transformers uses it instead of tokenizer_config's chat_template */
  chatTemplate?: string;
}

export interface EncodeOptions {
  /**
   * Add the special tokens tokenizer.json's post-processor adds (e.g. a BOS). Default true, as in
   * Hugging Face. Pass false for text rendered by a chat template: the template writes its own.
   */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, padding, ...; not other added tokens). Default false. */
  skipSpecialTokens?: boolean;
}

// Model types @huggingface/tokenizers implements (its README and create_tokenizer_model).
const SUPPORTED_MODELS = ['BPE', 'Unigram', 'WordPiece'];
const NAMED_SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;
// transformers writes int(1e30) as model_max_length when a model sets no limit.
const NO_LENGTH_LIMIT = 1e29;

/** Where each part came from: file paths after load(), file names after fromJSON(). */
interface Origins {
  tokenizer: string;
  config: string;
  specialTokensMap: string;
  generationConfig: string;
  chatTemplate: string;
}

const FILE_NAMES: Origins = {
  tokenizer: 'tokenizer.json',
  config: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  generationConfig: 'generation_config.json',
  chatTemplate: 'chat_template.jinja',
};

/**
 * A Hugging Face tokenizer: encode/decode through @huggingface/tokenizers, the model's chat template,
 * and the special-token ids generation needs. Load one with `Tokenizer.load(dir)`.
 */
export class Tokenizer {
  /** Number of ids, the highest id + 1: the rows a model's embedding table needs. */
  readonly vocabSize: number;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly padToken: string | undefined;
  readonly bosId: number | undefined;
  /** The tokenizer's eos (tokenizer_config.json), else generation_config.json's first. */
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  /** Every id that ends generation: eosId and all of generation_config.json's eos_token_id. */
  readonly eosIds: ReadonlySet<number>;
  /** tokenizer_config.json's model_max_length; undefined when absent or "no limit". */
  readonly modelMaxLength: number | undefined;

  readonly #hf: HfTokenizer;
  readonly #chatTemplate: ChatTemplate | undefined;
  readonly #noTemplateReason: string;

  /**
   * Reads `dir/tokenizer.json` and, when present, `tokenizer_config.json` (chat template, special
   * tokens, model_max_length), `special_tokens_map.json`, `generation_config.json` (eos ids) and
   * `chat_template.jinja`. Errors name the file and what is wrong with it.
   */
  static async load(dir: string): Promise<Tokenizer> {
    const at: Origins = {
      tokenizer: join(dir, FILE_NAMES.tokenizer),
      config: join(dir, FILE_NAMES.config),
      specialTokensMap: join(dir, FILE_NAMES.specialTokensMap),
      generationConfig: join(dir, FILE_NAMES.generationConfig),
      chatTemplate: join(dir, FILE_NAMES.chatTemplate),
    };
    const [tokenizer, config, specialTokensMap, generationConfig, chatTemplate] = await Promise.all([
      readText(at.tokenizer).then((text) => {
        if (text === undefined) throw new Error(`${at.tokenizer} not found: a tokenizer directory needs a Hugging Face tokenizer.json`);
        return parseJsonObject(text, at.tokenizer);
      }),
      readText(at.config).then((text) => text === undefined ? undefined : parseJsonObject(text, at.config)),
      readText(at.specialTokensMap).then((text) => text === undefined ? undefined : parseJsonObject(text, at.specialTokensMap)),
      readText(at.generationConfig).then((text) => text === undefined ? undefined : parseJsonObject(text, at.generationConfig)),
      readText(at.chatTemplate),
    ]);
    return new Tokenizer(
      {
        tokenizer: tokenizer as TokenizerJson,
        config: config as TokenizerConfigJson | undefined,
        specialTokensMap,
        generationConfig: generationConfig as GenerationConfigJson | undefined,
        chatTemplate,
      },
      at,
    );
  }

  /** Builds a tokenizer from already-parsed files, e.g. `{ tokenizer: createByteTokenizer() }`. */
  static fromJSON(files: TokenizerFiles): Tokenizer {
    return new Tokenizer(files, FILE_NAMES);
  }

  private constructor(files: TokenizerFiles, at: Origins) {
    const { tokenizer, config = {}, specialTokensMap = {}, generationConfig = {} } = files;
    const hfTokenizerJson = checkTokenizerJson(tokenizer, at.tokenizer);

    // Named special tokens as strings. transformers lets special_tokens_map.json override
    // tokenizer_config.json; the two agree in practice.
    const specialTokens: Record<string, string> = {};
    for (const key of NAMED_SPECIAL_TOKENS) {
      const fromMap = specialTokensMap[key];
      const [value, origin] = fromMap !== undefined ? [fromMap, at.specialTokensMap] : [config[key], at.config];
      const content = specialTokenContent(value, key, origin);
      if (content !== undefined) specialTokens[key] = content;
    }
    const additional = (config.additional_special_tokens ?? [])
      .map((token, i) => specialTokenContent(token, `additional_special_tokens[${i}]`, at.config))
      .filter((token): token is string => token !== undefined);

    // transformers 5 never applies clean_up_tokenization_spaces to BPE models (it turns " ." into
    // "." and so corrupts byte-level output), and Python's `tokenizers` never applies it at all;
    // @huggingface/tokenizers would default it to true, so it is always passed explicitly.
    const cleanUp = hfTokenizerJson.model.type !== 'BPE' && config.clean_up_tokenization_spaces === true;
    try {
      this.#hf = new HfTokenizer(hfTokenizerJson, {
        ...config,
        ...specialTokens,
        additional_special_tokens: additional,
        clean_up_tokenization_spaces: cleanUp,
      });
    } catch (err) {
      throw new Error(`${at.tokenizer}: ${(err as Error).message}`, { cause: err });
    }

    let maxId = -1;
    for (const id of this.#hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    // add_bos_token / add_eos_token are not applied: tokenizer.json's post-processor decides what
    // encode() adds, as in Python's `tokenizers` and transformers 5 (which drops both flags when a
    // tokenizer.json is present).
    const idOf = (key: 'bos_token' | 'eos_token' | 'pad_token') => {
      const token = specialTokens[key];
      if (token === undefined) return undefined;
      const id = this.#hf.token_to_id(token);
      if (id === undefined) {
        const origin = specialTokensMap[key] !== undefined ? at.specialTokensMap : at.config;
        throw new Error(`${origin}: ${key} ${JSON.stringify(token)} is not in the vocabulary of ${at.tokenizer}`);
      }
      return id;
    };
    const generationId = (key: 'bos_token_id' | 'pad_token_id') => {
      const value = generationConfig[key];
      return value === undefined || value === null ? undefined : this.#checkId(value, key, at.generationConfig);
    };
    const generationEos = generationConfig.eos_token_id;
    const generationEosIds = generationEos === undefined || generationEos === null ? [] : Array.isArray(generationEos) ? generationEos : [generationEos];
    generationEosIds.forEach((id, i) => this.#checkId(id, Array.isArray(generationEos) ? `eos_token_id[${i}]` : 'eos_token_id', at.generationConfig));

    this.bosToken = specialTokens.bos_token;
    this.eosToken = specialTokens.eos_token;
    this.padToken = specialTokens.pad_token;
    this.bosId = idOf('bos_token') ?? generationId('bos_token_id');
    this.eosId = idOf('eos_token') ?? generationEosIds[0];
    this.padId = idOf('pad_token') ?? generationId('pad_token_id');
    this.eosIds = new Set([...(this.eosId === undefined ? [] : [this.eosId]), ...generationEosIds]);
    const maxLength = config.model_max_length;
    this.modelMaxLength = typeof maxLength === 'number' && Number.isFinite(maxLength) && maxLength < NO_LENGTH_LIMIT ? maxLength : undefined;

    // chat_template.jinja wins over tokenizer_config.json's chat_template, as in transformers.
    const templates = files.chatTemplate !== undefined
      ? new Map([['default', { source: files.chatTemplate, origin: at.chatTemplate }]])
      : chatTemplatesOf(config.chat_template, at.config);
    const chosen = templates.get('default');
    this.#chatTemplate = chosen && new ChatTemplate(chosen.source, specialTokens, chosen.origin);
    this.#noTemplateReason = templates.size === 0
      ? `no chat template (${at.config} has no chat_template)`
      : `no default chat template (${at.config} names only ${[...templates.keys()].join(', ')})`;
  }

  /** Whether the model ships a chat template (tokenizer_config.json's chat_template or chat_template.jinja). */
  get hasChatTemplate(): boolean {
    return this.#chatTemplate !== undefined;
  }

  /** The template's Jinja source, when there is one. */
  get chatTemplate(): string | undefined {
    return this.#chatTemplate?.source;
  }

  /** Token ids of `text`. Special tokens written in the text (e.g. "<|im_end|>") become their ids, as in Hugging Face. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TypeError(`encode: text must be a string, got ${typeof text}`);
    const { addSpecialTokens = true } = options;
    const { ids } = this.#hf.encode(text, { add_special_tokens: addSpecialTokens });
    // A token the vocabulary lacks, with no unk token to stand for it, maps to undefined there.
    if (ids.some((id) => id === undefined)) throw new Error('encode: the tokenizer produced a token outside its vocabulary (tokenizer.json has no unk_token)');
    return ids as number[];
  }

  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): number[][] {
    return texts.map((text) => this.encode(text, options));
  }

  /** The text of `ids`. Throws a RangeError for an id outside the vocabulary. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const { skipSpecialTokens = false } = options;
    const list = Array.from(ids);
    for (const id of list) this.#checkId(id, 'token id', 'decode');
    // @huggingface/tokenizers throws on an empty list; the text of no tokens is "".
    if (list.length === 0) return '';
    return this.#hf.decode(list, { skip_special_tokens: skipSpecialTokens });
  }

  tokenToId(token: string): number | undefined {
    return this.#hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.#hf.id_to_token(id) : undefined;
  }

  /**
   * Renders a conversation with the model's chat template, exactly as transformers'
   * `apply_chat_template(messages, tokenize=False)` does. The special tokens (`bos_token`, ...)
   * are template variables. Throws when the model has no chat template.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!this.#chatTemplate) throw new Error(`applyChatTemplate: this tokenizer has ${this.#noTemplateReason}; formatPrompt() falls back to plain text`);
    return this.#chatTemplate.render(messages, options);
  }

  /**
   * The text the model should continue for a user prompt: the prompt as one user turn plus the
   * generation prompt when the model has a chat template; otherwise the prompt itself, unchanged
   * (base models and byte-level models trained from scratch see raw text).
   */
  formatPrompt(prompt: string): string {
    return this.#chatTemplate ? this.#chatTemplate.render([{ role: 'user', content: prompt }], { addGenerationPrompt: true }) : prompt;
  }

  /**
   * Ids of formatPrompt(prompt). A chat template writes its own special tokens, so its output is
   * encoded without the post-processor's (transformers does the same); raw text gets them.
   */
  encodePrompt(prompt: string): number[] {
    return this.encode(this.formatPrompt(prompt), { addSpecialTokens: !this.#chatTemplate });
  }

  #checkId(id: unknown, what: string, origin: string): number {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.#hf.id_to_token(id) === undefined) {
      throw new RangeError(`${origin}: ${what} ${String(id)} is not in the vocabulary (ids 0..${this.vocabSize - 1})`);
    }
    return id;
  }
}

/** The file's text, or undefined when it does not exist. */
async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
}

function parseJsonObject(text: string, path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** Checks what @huggingface/tokenizers would otherwise fail on obscurely, and fills absent optional parts. */
function checkTokenizerJson(json: TokenizerJson, origin: string): TokenizerJson {
  const model = json.model as unknown;
  if (model === null || typeof model !== 'object') throw new Error(`${origin}: no "model" object`);
  const type = (model as { type?: unknown }).type;
  if (typeof type === 'string' && !SUPPORTED_MODELS.includes(type)) {
    throw new Error(`${origin}: unsupported tokenizer model type "${type}" (supported: ${SUPPORTED_MODELS.join(', ')})`);
  }
  if (json.added_tokens !== undefined && !Array.isArray(json.added_tokens)) throw new Error(`${origin}: "added_tokens" must be an array`);
  // Absent components mean "none" to the Rust library; the JS one insists that the keys exist.
  return {
    ...json,
    added_tokens: json.added_tokens ?? [],
    normalizer: json.normalizer ?? null,
    pre_tokenizer: json.pre_tokenizer ?? null,
    post_processor: json.post_processor ?? null,
    decoder: json.decoder ?? null,
  };
}

function specialTokenContent(value: unknown, key: string, origin: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  throw new Error(`${origin}: ${key} must be a string or an object with a "content" string`);
}

/** tokenizer_config.json's chat_template: one template, or a list of named ones ("default" is used). */
function chatTemplatesOf(value: TokenizerConfigJson['chat_template'], origin: string): Map<string, { source: string; origin: string }> {
  const templates = new Map<string, { source: string; origin: string }>();
  if (value === undefined || value === null) return templates;
  if (typeof value === 'string') return templates.set('default', { source: value, origin });
  if (Array.isArray(value) && value.every((t) => t && typeof t.name === 'string' && typeof t.template === 'string')) {
    for (const t of value) templates.set(t.name, { source: t.template, origin });
    return templates;
  }
  throw new Error(`${origin}: chat_template must be a string or a list of {"name", "template"} objects`);
}
