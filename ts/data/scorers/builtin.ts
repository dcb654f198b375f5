// The built-in scorers: cheap text statistics that need no model, for trying the pipeline out
// and for objectives that pull against each other (a long, faithful answer vs a short one).
import Sentiment from 'sentiment';
import type { Scorer, ScoreInput } from './scorer.js';

const sentiment = new Sentiment();

/**
 * The AFINN-165 valence sum of `text`: each word found in the lexicon adds its value (-5..5),
 * negated when the word before it is a negator ("not good" counts -3). Computed by the
 * `sentiment` package (its tokeniser: lowercase, common punctuation removed).
 */
export function afinnScore(text: string): number {
  return sentiment.analyze(text).score;
}

/**
 * The words of `text` as SQuAD's evaluation normalises them: lowercased, punctuation and symbols
 * deleted (so "don't" is "dont"), split on whitespace. Unlike SQuAD, articles are kept.
 */
export function normalisedWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, '')
    .split(/\s+/u)
    .filter((w) => w !== '');
}

/** The number of words of `text`, split as `normalisedWords` does. */
export function wordCount(text: string): number {
  return normalisedWords(text).length;
}

/**
 * SQuAD-style token F1 of `a` against `b` (symmetric): with the common words counted as a
 * multiset overlap, precision = overlap / |a|, recall = overlap / |b|, F1 = 2PR / (P + R).
 * 0 when nothing overlaps or exactly one side is empty; 1 when both are empty.
 */
export function tokenF1(a: string, b: string): number {
  const wa = normalisedWords(a);
  const wb = normalisedWords(b);
  if (wa.length === 0 || wb.length === 0) return wa.length === wb.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const w of wb) counts.set(w, (counts.get(w) ?? 0) + 1);
  let overlap = 0;
  for (const w of wa) {
    const left = counts.get(w) ?? 0;
    if (left > 0) {
      overlap++;
      counts.set(w, left - 1);
    }
  }
  if (overlap === 0) return 0;
  const precision = overlap / wa.length;
  const recall = overlap / wb.length;
  return (2 * precision * recall) / (precision + recall);
}

/** A scorer from a synchronous per-sample statistic. Bump `version` whenever the numbers change. */
function textScorer(name: string, version: number, score: (s: ScoreInput, index: number) => number, needsReference = false): Scorer {
  return {
    name,
    id: `builtin:${name}@${version}`,
    needsReference,
    score: async (batch, signal) => {
      signal?.throwIfAborted();
      return batch.map(score);
    },
  };
}

/**
 * `positivity`: the AFINN-165 valence of the response (`afinnScore`). Higher means more, and
 * stronger, positive words: a lexicon proxy for a helpful, friendly tone that costs nothing to run.
 */
export function positivityScorer(): Scorer {
  return textScorer('positivity', 1, (s) => afinnScore(s.response));
}

/**
 * `fidelity`: token F1 between the response and the sample's reference (`tokenF1`), in [0, 1].
 * Rewards staying close to the gold answer, the usual counterweight to positivity and conciseness.
 * Needs a reference on every sample.
 */
export function fidelityScorer(): Scorer {
  return textScorer(
    'fidelity',
    1,
    (s, i) => {
      if (s.reference === undefined) throw new Error(`fidelity needs a reference, and input ${i} of the batch has none`);
      return tokenF1(s.response, s.reference);
    },
    true,
  );
}

/** `conciseness`: minus the response's word count (`wordCount`), so shorter responses score higher. */
export function concisenessScorer(): Scorer {
  return textScorer('conciseness', 1, (s) => -wordCount(s.response));
}

/** The built-in scorers by objective name. */
export const builtinScorers: Readonly<Record<string, () => Scorer>> = {
  positivity: positivityScorer,
  fidelity: fidelityScorer,
  conciseness: concisenessScorer,
};
