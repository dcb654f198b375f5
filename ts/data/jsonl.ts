// JSON records on disk: streaming JSONL reading with line numbers, atomic writing (JSONL or any
// other format, through a temporary file), a JSON writer that keeps every double exact, and the
// wording of a record's first validation problem. Every other file of ts/data builds on these.
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { z } from 'zod';
import { writeFileAtomic, type WriteOptions } from '../util/atomic-file.js';

export type { WriteOptions };

/** A record as read from a file, before validation: its 1-based line (JSONL) or row (Parquet)
 *  number, and either its value or, when it could not even be parsed, why not. */
export type RawRecord = { line: number; value: unknown; problem?: undefined } | { line: number; value?: undefined; problem: string };

/**
 * The records of a JSONL file, one JSON value a line, streamed (the file is never held as one
 * string). Blank lines are skipped but counted, so `line` is the line an editor shows. A line that
 * is not valid JSON comes back with a `problem` rather than throwing, so callers decide whether
 * to skip it.
 */
export async function* readJsonlRecords(file: string): AsyncGenerator<RawRecord> {
  // Opening first turns a missing file into an ENOENT error naming it, not a stream error.
  const handle = await open(file, 'r');
  // crlfDelay: Infinity makes \r\n one line break even when a chunk boundary falls between them.
  const lines = createInterface({ input: handle.createReadStream({ encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    let line = 0;
    for await (let text of lines) {
      line++;
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 byte order mark
      if (text.trim() === '') continue;
      let record: RawRecord;
      try {
        record = { line, value: JSON.parse(text) };
      } catch (err) {
        record = { line, problem: `not valid JSON (${(err as Error).message})` };
      }
      yield record;
    }
  } finally {
    lines.close();
    await handle.close();
  }
}

/** Writes one JSON line per record, atomically (see writeFileAtomic). Numbers are written exactly,
 *  -0 included; NaN and ±Infinity, which JSON cannot hold, are an error rather than `null`. */
export async function writeJsonlAtomic(file: string, records: Iterable<unknown> | AsyncIterable<unknown>, options: WriteOptions = {}): Promise<void> {
  await writeFileAtomic(file, options, (tmp) => pipeline(Readable.from(jsonlChunks(records)), createWriteStream(tmp, { flags: 'wx' })));
}

/** The lines of `records`, batched into chunks of about 1 MiB so the stream is not fed one tiny
 *  string at a time. */
async function* jsonlChunks(records: Iterable<unknown> | AsyncIterable<unknown>): AsyncGenerator<string> {
  let chunk = '';
  for await (const record of records) {
    chunk += `${stringifyJson(record)}\n`;
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/**
 * JSON.stringify for plain data, except that -0 is written as `-0` (JSON.parse reads it back as
 * -0; JSON.stringify writes `0`) and a non-finite number throws (JSON.stringify writes `null`,
 * which reads back as a different value). Keys whose value is undefined are left out.
 */
export function stringifyJson(value: unknown): string {
  // Fast path: the native stringify, with a replacer that only looks at the numbers. Only a
  // value holding a -0 (rare) takes the slow path below.
  let negativeZero = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new RangeError(`cannot write ${v} as JSON`);
      if (Object.is(v, -0)) negativeZero = true;
    }
    return v;
  });
  if (text === undefined) throw new TypeError(`cannot write ${typeof value} as JSON`);
  return negativeZero ? keepNegativeZero(value) : text;
}

/** The slow path of stringifyJson: the same JSON, built by hand so -0 can be written. */
function keepNegativeZero(value: unknown): string {
  if (Object.is(value, -0)) return '-0';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : keepNegativeZero(v))).join(',')}]`;
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
    const fields: string[] = [];
    for (const [key, v] of Object.entries(value)) {
      if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol') fields.push(`${JSON.stringify(key)}:${keepNegativeZero(v)}`);
    }
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Parses `value` with `schema`: its data, or the first problem in words (see describeIssue). */
export function checkRecord<T>(schema: z.ZodType<T>, value: unknown): { data: T; problem?: undefined } | { data?: undefined; problem: string } {
  const r = schema.safeParse(value);
  return r.success ? { data: r.data } : { problem: describeIssue(r.error.issues[0], value) };
}

/**
 * One zod issue in words that name the field by its dotted path: `missing field "prompt"`,
 * `field "prompt" is empty`, `field "rewards.helpful" must be a finite number, got the string
 * "NaN"`. (zod 4's numbers are finite, hence "finite".) Same wording as ts/cli/engine-common.ts.
 */
export function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.path.length === 0) {
    return issue.code === 'invalid_type' ? `expected a JSON object, got ${describeValue(value)}` : issue.message;
  }
  const field = issue.path.map(String).join('.');
  const got = valueAt(value, issue.path);
  if (issue.code === 'invalid_type') {
    if (got === undefined) return `missing field "${field}"`;
    const expected = issue.expected === 'number' ? 'finite number' : issue.expected;
    return `field "${field}" must be a ${expected}, got ${describeValue(got)}`;
  }
  if (issue.code === 'too_small' && issue.origin === 'string' && Number(issue.minimum) === 1) return `field "${field}" is empty`;
  return `field "${field}": ${issue.message}`;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** A value as it reads in an error message: `null`, `an array`, `the string "NaN"`, `Infinity`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `the integer ${v} (a 64-bit integer, not a double)`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
