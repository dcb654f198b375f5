// Chat templates: the Jinja source a model's tokenizer_config.json (or chat_template.jinja) ships,
// rendered through @huggingface/jinja the way transformers' apply_chat_template renders it.
import { Template } from '@huggingface/jinja';

/** One turn of a conversation. Extra fields (e.g. `tool_calls`) are passed to the template as they are. */
export interface ChatMessage {
  role: string;
  content: string;
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn, so the model's next tokens are its reply. Default true. */
  addGenerationPrompt?: boolean;
  /**
   * Extra template variables, e.g. `{ enable_thinking: false }` for Qwen3-style templates. They
   * override the special-token variables when names clash, as transformers' keyword arguments do.
   */
  templateVariables?: Record<string, unknown>;
}

/** A parsed chat template. Parsing happens once, when the tokenizer loads, so a broken template fails early. */
export class ChatTemplate {
  readonly source: string;
  readonly #template: Template;
  readonly #specialTokens: Readonly<Record<string, string>>;
  readonly #origin: string;

  /**
   * @param source the Jinja source
   * @param specialTokens `bos_token`, `eos_token`, ... as strings: transformers passes them to every render
   * @param origin the file the template came from, for error messages
   */
  constructor(source: string, specialTokens: Readonly<Record<string, string>>, origin: string) {
    this.source = source;
    this.#specialTokens = specialTokens;
    this.#origin = origin;
    try {
      this.#template = new Template(source);
    } catch (err) {
      throw new Error(`${origin}: cannot parse chat_template: ${(err as Error).message}`, { cause: err });
    }
  }

  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    const { addGenerationPrompt = true, templateVariables = {} } = options;
    try {
      return this.#template.render({
        ...this.#specialTokens,
        // transformers passes tools=None and documents=None when there are none; templates test
        // them with `is not none` or truthiness, so null (not undefined) gives the same branches.
        tools: null,
        documents: null,
        ...templateVariables,
        messages,
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (err) {
      // raise_exception(...) in the template lands here with the template's own message.
      throw new Error(`chat template from ${this.#origin}: ${(err as Error).message}`, { cause: err });
    }
  }
}
