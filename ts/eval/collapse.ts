// The collapse detector of the evaluation protocol (paretohqd.md §8.3): a response counts as
// collapsed when it is extremely short or repetitive, the failure that over-optimised policies fall
// into. The collapse rate CR% is reported pooled over every preference and prompt, and per
// preference.

/** Thresholds of the detector; every default is the design's. */
export interface CollapseOptions {
  /** Fewer words than this is collapsed. Default 5. */
  minWords?: number;
  /** A repeated-3-gram ratio 1 − distinct/all above this is collapsed. Default 0.3. */
  ngramRatio?: number;
  /** One sentence occurring this many times or more is collapsed. Default 3. */
  sentenceRepeats?: number;
}

export const DEFAULT_COLLAPSE: Required<CollapseOptions> = { minWords: 5, ngramRatio: 0.3, sentenceRepeats: 3 };

/** Which rule found a response collapsed: too few words, repeated 3-grams, a repeated sentence. */
export type CollapseRule = 'short' | 'ngram' | 'sentence';

/** The options with defaults filled in, checked. */
export function collapseOptions(options: CollapseOptions = {}): Required<CollapseOptions> {
  const o = { ...DEFAULT_COLLAPSE, ...definedOnly(options) };
  if (!Number.isSafeInteger(o.minWords) || o.minWords < 0) throw new RangeError(`collapse.minWords must be an integer >= 0, got ${o.minWords}`);
  if (!(o.ngramRatio >= 0 && o.ngramRatio <= 1)) throw new RangeError(`collapse.ngramRatio must be in [0, 1], got ${o.ngramRatio}`);
  if (!Number.isSafeInteger(o.sentenceRepeats) || o.sentenceRepeats < 2) throw new RangeError(`collapse.sentenceRepeats must be an integer >= 2, got ${o.sentenceRepeats}`);
  return o;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The repeated-3-gram ratio 1 − (#distinct 3-grams / #3-grams) of a word list; undefined without a 3-gram. */
export function repeatedTrigramRatio(words: readonly string[]): number | undefined {
  const count = words.length - 2;
  if (count < 1) return undefined;
  const distinct = new Set<string>();
  // words hold no whitespace, so a space joins them unambiguously
  for (let i = 0; i < count; i++) distinct.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  // (count − distinct) / count, not 1 − distinct / count: 3 repeats of 10 give exactly 0.3, not 0.30000000000000004
  return (count - distinct.size) / count;
}

/**
 * The sentences of a (lower-cased) text: split after `.`, `!` or `?` followed by whitespace, and
 * on newlines; trimmed; empty ones dropped. The end of the text counts as whitespace, so the final
 * full stop of "a b. a b. a b." does not make the last sentence differ from the others.
 */
export function sentences(text: string): string[] {
  return text
    .split(/[.!?]+(?=\s|$)|\n/u)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Which rule finds `text` collapsed, or null. The text is lower-cased and split on whitespace into
 * words. Rules, checked in this order: fewer than `minWords` words ('short'); a repeated-3-gram
 * ratio above `ngramRatio`, when there is at least one 3-gram ('ngram'); a sentence occurring
 * `sentenceRepeats` times or more ('sentence').
 */
export function isCollapsed(text: string, options: CollapseOptions = {}): CollapseRule | null {
  const o = collapseOptions(options);
  const lower = text.toLowerCase();
  const words = lower.split(/\s+/u).filter((w) => w !== '');
  if (words.length < o.minWords) return 'short';
  const ratio = repeatedTrigramRatio(words);
  if (ratio !== undefined && ratio > o.ngramRatio) return 'ngram';
  const counts = new Map<string, number>();
  for (const s of sentences(lower)) {
    const c = (counts.get(s) ?? 0) + 1;
    if (c >= o.sentenceRepeats) return 'sentence';
    counts.set(s, c);
  }
  return null;
}

/** How many of a set of responses collapsed, and by which rule. */
export interface CollapseCount {
  responses: number;
  collapsed: number;
  /** 100 · collapsed / responses (0 for no responses): CR%. */
  percent: number;
  byRule: Record<CollapseRule, number>;
}

/** Counts the collapsed responses among `rules` (isCollapsed's answers). */
export function countCollapsed(rules: readonly (CollapseRule | null)[]): CollapseCount {
  const byRule: Record<CollapseRule, number> = { short: 0, ngram: 0, sentence: 0 };
  for (const r of rules) if (r !== null) byRule[r]++;
  const collapsed = byRule.short + byRule.ngram + byRule.sentence;
  return { responses: rules.length, collapsed, percent: collapsePercent(collapsed, rules.length), byRule };
}

/** The collapse rate of `texts` (CR%, see countCollapsed). */
export function collapseRate(texts: readonly string[], options: CollapseOptions = {}): CollapseCount {
  const o = collapseOptions(options);
  return countCollapsed(texts.map((t) => isCollapsed(t, o)));
}

/** 100 · collapsed / responses; 0 for no responses. */
export function collapsePercent(collapsed: number, responses: number): number {
  return responses === 0 ? 0 : (100 * collapsed) / responses;
}
