// Positivity steering for the pool: a logit bias toward the vocabulary's positive words (AFINN-165
// valence > 0), so some base-model samples lean positive at the cost of following the corpus.
// This is what makes the task's objectives conflict: the corpus's own continuations are mostly
// neutral, so a response gains positivity only by departing from the continuation (losing
// fidelity), the way a helpful answer to a harmful request loses harmlessness.
import { afinnScore } from '../data/scorers/builtin.js';
import type { Tokenizer } from '../engine/tokenizer.js';

/**
 * token id -> strength × valence / 2 for every token that is a whole positive word (with or
 * without its leading space). Word pieces are left alone: biasing them would make non-words.
 */
export function positivityLogitBias(tokenizer: Tokenizer, strength: number): Record<number, number> {
  const bias: Record<number, number> = {};
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const text = tokenizer.decode([id], { skipSpecialTokens: true });
    const word = /^ ([A-Za-z]+)$/.exec(text)?.[1];
    if (word === undefined) continue;
    const valence = afinnScore(word.toLowerCase());
    if (valence > 0) bias[id] = (strength * valence) / 2;
  }
  return bias;
}
