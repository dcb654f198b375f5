// The datasets every command reads and writes (design: paretohqd.md §1.1): unscored samples
// (plain, or Anthropic HH preference pairs), scored samples, and prompts, as JSONL or Parquet.
//
// Every reader checks each record against its zod schema (ts/data/records.ts) and names the file
// and line of a bad one, or with `onInvalid: 'skip'` lists it in the report: nothing is dropped
// silently. Exact duplicate (prompt, response) pairs are removed, the first kept, and counted. A
// file without a single valid record is an error. Every writer is atomic and refuses to replace
// an existing file unless asked.
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { z } from 'zod';
import { hhPairSamples, HHDialogueError } from './hh.js';
import { checkRecord, readJsonlRecords, writeJsonlAtomic, type RawRecord } from './jsonl.js';
import { isRewardColumn, openParquet, rewardColumn, rowToRecord, writeParquetAtomic, type ParquetColumn, type ParquetWriteOptions } from './parquet.js';
import {
  preferencePairRecord,
  promptRecord,
  ScoredDataset,
  scoredSampleRecord,
  textSampleRecord,
  type PromptRecord,
  type Sample,
  type TextSampleRecord,
} from './records.js';

export type DataFormat = 'jsonl' | 'parquet';

/** The format of `file`: `format` when given, else Parquet for a `.parquet` name, else JSONL. */
export function dataFormatOf(file: string, format?: DataFormat): DataFormat {
  return format ?? (extname(file).toLowerCase() === '.parquet' ? 'parquet' : 'jsonl');
}

/** Options of every reader. */
export interface ReadOptions {
  /** The file's format. Default: from the name (see dataFormatOf). */
  format?: DataFormat;
  /** What an invalid record does. 'error' (the default) throws at the first one, naming the file,
   *  line and problem; 'skip' leaves it out and lists it in `report.skipped`. */
  onInvalid?: 'error' | 'skip';
  /** Remove exact duplicates, keeping the first: (prompt, response) pairs, or prompts for
   *  readPrompts. Default true. */
  dedupe?: boolean;
}

/** Options of readScoredDataset. */
export interface ScoredReadOptions extends ReadOptions {
  /** The objectives, in this order. A record lacking one is invalid; rewards under other names are
   *  ignored. Default: the reward names of the first valid record, in its order, which every
   *  later record must then match exactly. */
  objectives?: readonly string[];
  /** The fewest objectives accepted. Default 2: Pareto selection needs a trade-off. */
  minObjectives?: number;
}

/** An invalid record left out under `onInvalid: 'skip'`. */
export interface SkippedRecord {
  file: string;
  /** 1-based line (JSONL) or row (Parquet). */
  line: number;
  message: string;
}

/** What a read kept and what it left out. */
export interface ReadReport {
  file: string;
  format: DataFormat;
  /** Samples (or prompts) kept. An HH pair gives two samples. */
  records: number;
  /** Exact duplicates removed. */
  duplicates: number;
  /** Invalid records left out (only under `onInvalid: 'skip'`), in file order. */
  skipped: SkippedRecord[];
  /** Parquet columns this reader does not know: not read. Always empty for JSONL. */
  ignoredColumns: string[];
}

/** Options of every writer. */
export interface DataWriteOptions extends ParquetWriteOptions {
  /** The file's format. Default: from the name (see dataFormatOf). */
  format?: DataFormat;
}

// ---------------------------------------------------------------------------------------------
// Reading: one scan loop for every record kind.

/** Why one record is invalid. The scan adds the file and line; `fatal` ends the read even under
 *  'skip' (the record is valid alone, but the file cannot be read as asked). */
class InvalidRecord extends Error {
  constructor(
    message: string,
    readonly fatal = false,
  ) {
    super(message);
  }
}

/** Parses a record or throws InvalidRecord with its first problem. */
function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = checkRecord(schema, value);
  if (r.problem !== undefined) throw new InvalidRecord(r.problem);
  return r.data;
}

/** What a reader needs from a Parquet file's columns. */
interface ColumnRule {
  /** Whether the reader uses a column; the others are listed in `ignoredColumns`. */
  known(column: string): boolean;
  /** The required columns missing from `present`. */
  missing(present: ReadonlySet<string>): string[];
}

/**
 * Streams `file`'s records into `visit`, which keeps a record (adding to report.records or
 * report.duplicates) or throws InvalidRecord. Applies `onInvalid`, and refuses an empty file or
 * one without a valid record.
 */
async function scan(
  file: string,
  options: ReadOptions,
  columns: ColumnRule,
  visit: (value: unknown, line: number, report: ReadReport) => void,
): Promise<ReadReport> {
  const format = dataFormatOf(file, options.format);
  const onInvalid = options.onInvalid ?? 'error';
  const report: ReadReport = { file, format, records: 0, duplicates: 0, skipped: [], ignoredColumns: [] };
  const position = (line: number) => `${file}, ${format === 'parquet' ? 'row' : 'line'} ${line}`;
  if ((await stat(file)).size === 0) throw new Error(`${file}: no records (the file is empty)`);
  for await (const raw of rawRecords(file, format, columns, report)) {
    let problem = raw.problem;
    if (problem === undefined) {
      try {
        visit(raw.value, raw.line, report);
      } catch (err) {
        if (!(err instanceof InvalidRecord)) throw err;
        if (err.fatal) throw new Error(`${position(raw.line)}: ${err.message}`);
        problem = err.message;
      }
    }
    if (problem === undefined) continue;
    if (onInvalid === 'error') throw new Error(`${position(raw.line)}: ${problem}`);
    report.skipped.push({ file, line: raw.line, message: problem });
  }
  if (report.records === 0) {
    const first = report.skipped[0];
    throw new Error(`${file}: no records${first === undefined ? '' : ` (all ${report.skipped.length} are invalid; the first, ${position(first.line)}: ${first.message})`}`);
  }
  return report;
}

/** The raw records of a JSONL or Parquet file. For Parquet, checks the columns first, reads only
 *  the known ones, and lists the others in the report. */
async function* rawRecords(file: string, format: DataFormat, rule: ColumnRule, report: ReadReport): AsyncGenerator<RawRecord> {
  if (format === 'jsonl') {
    yield* readJsonlRecords(file);
    return;
  }
  const table = await openParquet(file);
  const missing = rule.missing(new Set(table.columns));
  if (missing.length > 0) {
    throw new Error(`${file}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the file has: ${table.columns.join(', ')})`);
  }
  report.ignoredColumns = table.columns.filter((c) => !rule.known(c));
  for await (const row of table.read(table.columns.filter((c) => rule.known(c)))) yield { line: row.line, value: rowToRecord(row.value) };
}

/** The names of `required` missing from `present`, quoted. */
const absent = (present: ReadonlySet<string>, required: readonly string[]) => required.filter((c) => !present.has(c)).map((c) => JSON.stringify(c));

/** The id of a record without one: stable, and pointing at its line. */
const fallbackId = (file: string, line: number) => `${basename(file)}:${line}`;

/**
 * Remembers (prompt, response) pairs to find exact duplicates: prompt → its response(s). The keys
 * are the samples' own strings, so this holds no second copy of the texts (a 320k-sample file's
 * texts are hundreds of MB), and the Map hashes them natively.
 */
class SeenPairs {
  private readonly byPrompt = new Map<string, string | Set<string>>();

  /** Whether an equal pair was added before; adds this one if not. */
  seenBefore({ prompt, response }: Pair): boolean {
    const found = this.byPrompt.get(prompt);
    if (found === undefined) this.byPrompt.set(prompt, response);
    else if (typeof found === 'string') {
      if (found === response) return true;
      this.byPrompt.set(prompt, new Set([found, response]));
    } else {
      if (found.has(response)) return true;
      found.add(response);
    }
    return false;
  }
}
type Pair = { prompt: string; response: string };

/** `samples` without exact duplicate (prompt, response) pairs, the first of each kept, and how many were dropped. */
export function dropDuplicatePairs<T extends Pair>(samples: readonly T[]): { unique: T[]; duplicates: number } {
  const seen = new SeenPairs();
  const unique = samples.filter((s) => !seen.seenBefore(s));
  return { unique, duplicates: samples.length - unique.length };
}

/** Keeps or drops one sample: false for a duplicate (counted) when de-duplicating. */
function keeper(options: ReadOptions): (pair: Pair, report: ReadReport) => boolean {
  if (options.dedupe === false) return () => true;
  const seen = new SeenPairs();
  return (pair, report) => {
    if (seen.seenBefore(pair)) {
      report.duplicates++;
      return false;
    }
    return true;
  };
}

/** A validated text record as an in-memory sample, in the field order of `Sample`. */
function toSample(r: TextSampleRecord, id: string): Sample {
  return {
    id: r.id ?? id,
    prompt: r.prompt,
    response: r.response,
    ...(r.reference !== undefined ? { reference: r.reference } : {}),
    ...(r.group !== undefined ? { group: r.group } : {}),
    origin: r.origin ?? 'dataset',
    ...(r.generatedBy !== undefined ? { generatedBy: r.generatedBy } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Unscored samples and HH pairs.

const SAMPLE_FIELDS = ['id', 'prompt', 'response', 'reference', 'group', 'origin', 'generatedBy'];
const pairSchema = preferencePairRecord.extend({ id: z.string().min(1).optional() });
/** An HH pair is told from a sample by its fields, record by record. */
const isPair = (value: unknown) => value !== null && typeof value === 'object' && ('chosen' in value || 'rejected' in value);

const textColumns: ColumnRule = {
  known: (c) => SAMPLE_FIELDS.includes(c) || c === 'chosen' || c === 'rejected',
  missing(present) {
    const pairs = absent(present, ['chosen', 'rejected']);
    return pairs.length === 0 ? [] : absent(present, ['prompt', 'response']);
  },
};

/**
 * Reads unscored samples: `{prompt, response, id?, reference?, group?}` records, and Anthropic HH
 * preference pairs `{chosen, rejected, id?}`, which give two samples each (see hhPairSamples).
 * A record without an id gets `<file name>:<line>`.
 */
export async function readTextSamples(file: string, options: ReadOptions = {}): Promise<{ samples: Sample[]; report: ReadReport }> {
  const samples: Sample[] = [];
  const keep = keeper(options);
  const report = await scan(file, options, textColumns, (value, line, report) => {
    let read: Sample[];
    if (isPair(value)) {
      const pair = parse(pairSchema, value);
      try {
        read = hhPairSamples(pair, pair.id ?? fallbackId(file, line));
      } catch (err) {
        if (err instanceof HHDialogueError) throw new InvalidRecord(err.message);
        throw err;
      }
    } else {
      read = [toSample(parse(textSampleRecord, value), fallbackId(file, line))];
    }
    for (const sample of read) {
      if (!keep(sample, report)) continue;
      samples.push(sample);
      report.records++;
    }
  });
  return { samples, report };
}

/** Writes samples as JSONL or Parquet (by the name, or `options.format`), atomically. */
export async function writeTextSamples(file: string, samples: readonly Sample[], options: DataWriteOptions = {}): Promise<void> {
  if (dataFormatOf(file, options.format) === 'jsonl') return writeJsonlAtomic(file, samples, options);
  return writeParquetAtomic(file, sampleParquetColumns(samples), samples as Iterable<Record<string, unknown>>, options);
}

/** The Parquet columns of samples: the fields every sample has, and the optional ones some have. */
function sampleParquetColumns(samples: readonly Sample[]): ParquetColumn[] {
  return [
    ...(['id', 'prompt', 'response'] as const).map((name) => ({ name, type: 'STRING' as const, nullable: false })),
    ...optionalColumns(samples, ['reference', 'group'], 'STRING'),
    { name: 'origin', type: 'STRING', nullable: false },
    ...optionalColumns(samples, ['generatedBy'], 'JSON'),
  ];
}

/** Nullable columns for the optional `fields` that at least one record has. */
function optionalColumns<T extends object>(records: readonly T[], fields: readonly (keyof T & string)[], type: ParquetColumn['type']): ParquetColumn[] {
  return fields.filter((f) => records.some((r) => r[f] !== undefined)).map((name) => ({ name, type, nullable: true }));
}

// ---------------------------------------------------------------------------------------------
// Scored samples.

/** Scored records may lack an id too; it then comes from the line, as for unscored samples. */
const scoredSchema = scoredSampleRecord.extend({ id: scoredSampleRecord.shape.id.optional() });

/**
 * Reads scored samples `{id?, prompt, response, rewards: {name: number}, …}` into a
 * ScoredDataset, the rewards going straight into one growing Float64Array. The objectives come
 * from `options.objectives` or from the first valid record (see ScoredReadOptions).
 */
export async function readScoredDataset(file: string, options: ScoredReadOptions = {}): Promise<{ dataset: ScoredDataset; report: ReadReport }> {
  const minObjectives = options.minObjectives ?? 2;
  if (!Number.isInteger(minObjectives) || minObjectives < 1) throw new RangeError(`minObjectives must be an integer >= 1, got ${minObjectives}`);
  const fixed = options.objectives;
  if (fixed !== undefined) checkObjectiveCount(fixed, minObjectives, 'options.objectives');
  if (fixed !== undefined && (new Set(fixed).size !== fixed.length || fixed.includes(''))) {
    throw new RangeError(`options.objectives must be distinct non-empty names, got ${JSON.stringify(fixed)}`);
  }

  let objectives = fixed === undefined ? undefined : [...fixed];
  let rewards: RewardRows | undefined;
  const samples: Sample[] = [];
  const keep = keeper(options);
  const report = await scan(file, options, scoredColumns(fixed), (value, line, report) => {
    const r = parse(scoredSchema, value);
    if (objectives === undefined) {
      const names = Object.keys(r.rewards);
      try {
        checkObjectiveCount(names, minObjectives, 'field "rewards"');
      } catch (err) {
        throw new InvalidRecord((err as Error).message, true);
      }
      objectives = names;
    }
    checkRewardNames(r.rewards, objectives, fixed === undefined);
    const sample = toSample(r, fallbackId(file, line));
    if (!keep(sample, report)) return;
    samples.push(sample);
    (rewards ??= new RewardRows(objectives.length)).push(r.rewards, objectives);
    report.records++;
  });
  // scan refuses a file without records, so the first kept record set both.
  return { dataset: new ScoredDataset(objectives!, samples, rewards!.take()), report };
}

function checkObjectiveCount(names: readonly string[], min: number, where: string): void {
  if (names.length >= min) return;
  const listed = names.length === 0 ? '' : ` (${names.map((n) => JSON.stringify(n)).join(', ')})`;
  throw new RangeError(
    `${where} names ${names.length} objective${names.length === 1 ? '' : 's'}${listed}; at least ${min} are needed` +
      (min === 2 ? ' (selection needs a trade-off; pass minObjectives: 1 to read one)' : ''),
  );
}

/** Every objective must be there; with objectives taken from the file, no other either. */
function checkRewardNames(rewards: Record<string, number>, objectives: readonly string[], exact: boolean): void {
  const list = objectives.join(', ');
  for (const name of objectives) if (!Object.hasOwn(rewards, name)) throw new InvalidRecord(`missing objective "${name}" in field "rewards" (objectives: ${list})`);
  if (!exact) return;
  for (const name of Object.keys(rewards)) {
    if (!objectives.includes(name)) throw new InvalidRecord(`unexpected objective "${name}" in field "rewards" (objectives, from the first record: ${list})`);
  }
}

/** Required: prompt, response, and the rewards: each named objective's column (or a struct
 *  `rewards`), or without names at least one reward column. */
function scoredColumns(objectives: readonly string[] | undefined): ColumnRule {
  return {
    known: (c) => SAMPLE_FIELDS.includes(c) || isRewardColumn(c),
    missing(present) {
      const missing = absent(present, ['prompt', 'response']);
      if (present.has('rewards')) return missing;
      if (objectives !== undefined) return [...missing, ...absent(present, objectives.map(rewardColumn))];
      if (![...present].some(isRewardColumn)) missing.push(`"${rewardColumn('<objective>')}" (one per objective, or a struct "rewards")`);
      return missing;
    },
  };
}

/** Reward rows appended into one Float64Array that doubles as it fills: no array per row. */
class RewardRows {
  private data: Float64Array;
  private length = 0;

  constructor(private readonly m: number) {
    this.data = new Float64Array(1024 * m);
  }

  push(rewards: Record<string, number>, objectives: readonly string[]): void {
    if (this.length + this.m > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    for (const name of objectives) this.data[this.length++] = rewards[name];
  }

  /** The rows, trimmed to their length. */
  take(): Float64Array {
    return this.length === this.data.length ? this.data : this.data.slice(0, this.length);
  }
}

/**
 * Writes a scored dataset as JSONL (`{…sample, rewards: {name: number}}` lines) or Parquet (text
 * columns plus one DOUBLE column `rewards.<name>` per objective), atomically. Reading it back
 * gives the same dataset, every double bit for bit (-0 included). Non-finite rewards are refused.
 */
export async function writeScoredDataset(file: string, dataset: ScoredDataset, options: DataWriteOptions = {}): Promise<void> {
  const { objectives, samples, rewards } = dataset;
  const m = objectives.length;
  for (const name of objectives) if (name === '') throw new RangeError('an objective name is empty');
  for (let k = 0; k < rewards.length; k++) {
    if (!Number.isFinite(rewards[k])) {
      const i = Math.floor(k / m);
      throw new RangeError(`${file}: sample "${samples[i].id}" (row ${i}) has reward ${rewards[k]} on objective "${objectives[k % m]}"; rewards must be finite`);
    }
  }
  if (dataFormatOf(file, options.format) === 'jsonl') {
    return writeJsonlAtomic(file, (function* () { for (let i = 0; i < dataset.size; i++) yield dataset.record(i); })(), options);
  }
  const columns: ParquetColumn[] = [...sampleParquetColumns(samples), ...objectives.map((name) => ({ name: rewardColumn(name), type: 'DOUBLE' as const, nullable: false }))];
  function* rows(): Generator<Record<string, unknown>> {
    for (let i = 0; i < samples.length; i++) {
      const row: Record<string, unknown> = { ...samples[i] };
      for (let j = 0; j < m; j++) row[rewardColumn(objectives[j])] = rewards[i * m + j];
      yield row;
    }
  }
  return writeParquetAtomic(file, columns, rows(), options);
}

// ---------------------------------------------------------------------------------------------
// Prompts.

const promptSchema = promptRecord.extend({ id: promptRecord.shape.id.optional() });
const promptColumns: ColumnRule = {
  known: (c) => c === 'id' || c === 'prompt' || c === 'reference',
  missing: (present) => absent(present, ['prompt']),
};

/** Reads prompts `{id?, prompt, reference?}` (for generation); duplicates are equal prompt texts.
 *  A record without an id gets `<file name>:<line>`. */
export async function readPrompts(file: string, options: ReadOptions = {}): Promise<{ prompts: PromptRecord[]; report: ReadReport }> {
  const prompts: PromptRecord[] = [];
  const keep = keeper(options);
  const report = await scan(file, options, promptColumns, (value, line, report) => {
    const r = parse(promptSchema, value);
    if (!keep({ prompt: r.prompt, response: '' }, report)) return;
    const p: PromptRecord = { id: r.id ?? fallbackId(file, line), prompt: r.prompt };
    if (r.reference !== undefined) p.reference = r.reference;
    prompts.push(p);
    report.records++;
  });
  return { prompts, report };
}

/** Writes prompts as JSONL or Parquet, atomically. */
export async function writePrompts(file: string, prompts: readonly PromptRecord[], options: DataWriteOptions = {}): Promise<void> {
  if (dataFormatOf(file, options.format) === 'jsonl') return writeJsonlAtomic(file, prompts, options);
  const columns: ParquetColumn[] = [
    { name: 'id', type: 'STRING', nullable: false },
    { name: 'prompt', type: 'STRING', nullable: false },
    ...optionalColumns(prompts, ['reference'], 'STRING'),
  ];
  return writeParquetAtomic(file, columns, prompts as Iterable<Record<string, unknown>>, options);
}
