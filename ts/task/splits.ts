// Document-disjoint splits of the corpus and prompts cut from held-out sentences.
//
// Three disjoint sets of documents: the base model pretrains on one, the task's training prompts
// come from the second and its test prompts from the third, so neither prompt set was seen in
// pretraining and no document feeds both training and evaluation.
import type { PromptRecord } from '../data/records.js';
import type { BrownDocument } from './brown.js';
import { Rng } from '../util/rng.js';

export interface SplitOptions {
  /** Share of documents whose sentences become training prompts. Default 0.1. */
  trainPromptShare?: number;
  /** Share of documents whose sentences become test prompts. Default 0.1. */
  testPromptShare?: number;
  /** Seed of the document shuffle. Default 0. */
  seed?: number;
}

export interface CorpusSplits {
  pretrain: BrownDocument[];
  trainPrompts: BrownDocument[];
  testPrompts: BrownDocument[];
}

/** Shuffles the documents with `seed` and cuts them into pretrain / train-prompt / test-prompt sets. */
export function splitDocuments(docs: readonly BrownDocument[], options: SplitOptions = {}): CorpusSplits {
  const trainShare = options.trainPromptShare ?? 0.1;
  const testShare = options.testPromptShare ?? 0.1;
  if (!(trainShare > 0 && testShare > 0 && trainShare + testShare < 1))
    throw new RangeError(`prompt shares must be > 0 and sum to < 1, got train ${trainShare} and test ${testShare}`);
  const order = new Rng(options.seed ?? 0).shuffle(docs.map((_, i) => i));
  const nTest = Math.max(1, Math.round(testShare * docs.length));
  const nTrain = Math.max(1, Math.round(trainShare * docs.length));
  if (nTest + nTrain >= docs.length) throw new RangeError(`${docs.length} documents are too few to split`);
  const pick = (from: number, to: number) =>
    order
      .slice(from, to)
      .sort((a, b) => a - b)
      .map((i) => docs[i]);
  return { testPrompts: pick(0, nTest), trainPrompts: pick(nTest, nTest + nTrain), pretrain: pick(nTest + nTrain, docs.length) };
}

export interface PromptOptions {
  /** Sentences with fewer words are not used. Default 8. */
  minWords?: number;
  /** Sentences with more words are not used. Default 30. */
  maxWords?: number;
  /** The prompt keeps this many words at least... Default 3. */
  minPromptWords?: number;
  /** ...and at most this many. Default 8. */
  maxPromptWords?: number;
  /** The reference (the rest of the sentence) keeps at least this many words. Default 4. */
  minReferenceWords?: number;
  /** Only prompts (and their references) this accepts are used, e.g. those that fit a model's context. */
  keep?: (prompt: PromptRecord) => boolean;
  /** At most this many prompts (drawn at random from those kept when there are more). Default: all. */
  limit?: number;
  /** Seed of the cut points and the draw. Default 0. */
  seed?: number;
}

/**
 * A prompt from each usable sentence: its first few words (the cut point drawn at random), with
 * the rest of the sentence as its reference. The reference keeps its leading space, so prompt +
 * reference is the sentence exactly, and a model continues the prompt with the same tokens it saw
 * in pretraining. Ids are "<document>:<sentence index>".
 */
export function sentencePrompts(docs: readonly BrownDocument[], options: PromptOptions = {}): PromptRecord[] {
  const minWords = options.minWords ?? 8;
  const maxWords = options.maxWords ?? 30;
  const minPrompt = options.minPromptWords ?? 3;
  const maxPrompt = options.maxPromptWords ?? 8;
  const minReference = options.minReferenceWords ?? 4;
  const rng = new Rng(options.seed ?? 0);
  const prompts: PromptRecord[] = [];
  for (const doc of docs) {
    doc.sentences.forEach((sentence, s) => {
      // word k ends at ends[k]; words are separated by single spaces after detokenisation
      const ends = [...sentence.matchAll(/\S+/g)].map((m) => m.index + m[0].length);
      const n = ends.length;
      if (n < minWords || n > maxWords) return;
      const hi = Math.min(maxPrompt, n - minReference);
      if (hi < minPrompt) return;
      const words = minPrompt + rng.int(hi - minPrompt + 1);
      const cut = ends[words - 1];
      const p = { id: `${doc.id}:${s}`, prompt: sentence.slice(0, cut), reference: sentence.slice(cut) };
      if (options.keep === undefined || options.keep(p)) prompts.push(p);
    });
  }
  if (options.limit === undefined || prompts.length <= options.limit) return prompts;
  const keep = rng
    .shuffle(prompts.map((_, i) => i))
    .slice(0, options.limit)
    .sort((a, b) => a - b);
  return keep.map((i) => prompts[i]);
}
