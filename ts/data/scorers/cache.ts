// Scores already computed, kept on disk so that re-running a scoring job (after a crash, a
// Ctrl-C, or with one more objective) only scores what is new.
//
// One append-only JSONL file per scorer id, named by the id's sha256: a header line
// {"scorer": id, "format": 1}, then one {"k": key, "v": score} line per scored input, appended
// after each batch. Appending whole lines means a crash can only tear the last line, which
// loading drops (and cuts off, so the next append starts on a fresh line).
import { createHash } from 'node:crypto';
import { access, appendFile, constants, mkdir, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../../paths.js';
import type { ScoreInput } from './scorer.js';

const FORMAT = 1;

/** The default cache folder: `<cacheDir()>/scores` (MOALIGN_CACHE_DIR, XDG_CACHE_HOME or ~/.cache). */
export function defaultScoreCacheDir(): string {
  return join(cacheDir(), 'scores');
}

/** The cache key of an input: sha256 of prompt \0 response \0 reference (empty when absent). */
export function scoreKey(input: ScoreInput): string {
  return createHash('sha256')
    .update(`${input.prompt}\0${input.response}\0${input.reference ?? ''}`)
    .digest('hex');
}

/** An on-disk score cache: one `ScorerScores` per scorer id, each loaded on first use. */
export class ScoreCache {
  private readonly scorers = new Map<string, Promise<ScorerScores>>();

  /** @param dir the folder holding the files; default `defaultScoreCacheDir()`. Created on first use. */
  constructor(readonly dir: string = defaultScoreCacheDir()) {}

  /** The cached scores of the scorer with this id (loaded from disk once, then shared). */
  scores(scorerId: string): Promise<ScorerScores> {
    let scores = this.scorers.get(scorerId);
    if (!scores) {
      scores = ScorerScores.load(this.dir, scorerId);
      // a failed load (unwritable folder) is not remembered: the caller may fix it and retry
      scores.catch(() => this.scorers.delete(scorerId));
      this.scorers.set(scorerId, scores);
    }
    return scores;
  }
}

/** One scorer's cached scores: an in-memory map over its append-only file. */
export class ScorerScores {
  private constructor(
    /** The folder, for error messages. */
    private readonly dir: string,
    readonly scorerId: string,
    /** The JSONL file. */
    readonly file: string,
    private readonly values: Map<string, number>,
  ) {}

  static async load(dir: string, scorerId: string): Promise<ScorerScores> {
    const file = join(dir, `${createHash('sha256').update(scorerId).digest('hex')}.jsonl`);
    let bytes: Buffer | undefined;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unusable(dir, err);
    }
    // Bytes up to the last newline are whole lines; anything after it is a torn write.
    const end = bytes ? bytes.lastIndexOf(0x0a) + 1 : 0;
    const values = new Map<string, number>();
    if (!bytes || end === 0) {
      // a new file, or one whose header was torn: start it afresh
      await guard(dir, async () => {
        await mkdir(dir, { recursive: true });
        if (bytes) await truncate(file, 0);
        await appendFile(file, `${JSON.stringify({ scorer: scorerId, format: FORMAT })}\n`);
      });
      return new ScorerScores(dir, scorerId, file, values);
    }
    const lines = bytes.subarray(0, end - 1).toString('utf8').split('\n');
    checkHeader(file, lines[0], scorerId);
    for (let i = 1; i < lines.length; i++) {
      const entry = parseEntry(lines[i]);
      if (entry) values.set(entry.k, entry.v);
      else process.emitWarning(`${file}, line ${i + 1}: not a score cache entry; ignored`, 'MoalignWarning');
    }
    await guard(dir, async () => {
      if (end < bytes.length) await truncate(file, end);
      await access(file, constants.W_OK);
    });
    return new ScorerScores(dir, scorerId, file, values);
  }

  /** How many inputs have a cached score. */
  get size(): number {
    return this.values.size;
  }

  /** The cached score of `input`, if any. */
  get(input: ScoreInput): number | undefined {
    return this.values.get(scoreKey(input));
  }

  /** Records `scores[i]` for `inputs[i]`, in memory and appended to the file. */
  async add(inputs: readonly ScoreInput[], scores: readonly number[]): Promise<void> {
    if (inputs.length !== scores.length) throw new RangeError(`${inputs.length} inputs but ${scores.length} scores`);
    const lines = inputs.map((input, i) => {
      const k = scoreKey(input);
      this.values.set(k, scores[i]);
      return `${JSON.stringify({ k, v: scores[i] })}\n`;
    });
    if (lines.length > 0) await guard(this.dir, () => appendFile(this.file, lines.join('')));
  }
}

function checkHeader(file: string, line: string, scorerId: string): void {
  let header: { scorer?: unknown; format?: unknown } | undefined;
  try {
    header = JSON.parse(line) as typeof header;
  } catch {
    // reported below
  }
  if (header?.scorer !== scorerId || header.format !== FORMAT)
    throw new Error(`${file}, line 1: not a moalign score cache (format ${FORMAT}) for scorer ${scorerId}; delete the file to start it afresh`);
}

function parseEntry(line: string): { k: string; v: number } | undefined {
  try {
    const e = JSON.parse(line) as { k?: unknown; v?: unknown };
    if (typeof e.k === 'string' && typeof e.v === 'number' && Number.isFinite(e.v)) return { k: e.k, v: e.v };
  } catch {
    // not JSON
  }
  return undefined;
}

/** Runs a file-system step, turning its failure into the error that says how to get around it. */
async function guard<T>(dir: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw unusable(dir, err);
  }
}

function unusable(dir: string, err: unknown): Error {
  return new Error(
    `cannot use the score cache folder ${dir}: ${(err as Error).message}. Pass --cache DIR to use another folder, or --no-cache to score without a cache`,
    { cause: err },
  );
}
