// Shared by the engine commands (generate, logprobs, score, train): JSONL records in and out,
// numeric option parsers, and the model-loading options every one of them takes.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import type { ModelLoadOptions } from '../engine/index.js';
import { readInput } from './input.js';

/** A prompt for `generate`. Other fields are ignored. */
export const promptRecord = z.object({ prompt: z.string() });
/** A (prompt, response) pair for `logprobs`, `score` and `train sft`. Other fields are ignored. */
export const pairRecord = z.object({ prompt: z.string(), response: z.string() });

/**
 * The records of a JSONL file (or stdin for '-'), one JSON object a line, each checked with
 * `schema`. Blank lines are skipped; an error names the file and the 1-based line.
 */
export function readJsonl<T>(file: string, schema: z.ZodType<T>): T[] {
  const name = file === '-' ? 'stdin' : file;
  const records: T[] = [];
  readInput(file)
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new Error(`${name}, line ${i + 1}: not valid JSON (${(err as Error).message})`);
      }
      const r = schema.safeParse(value);
      if (!r.success) throw new Error(`${name}, line ${i + 1}: ${describeIssue(r.error.issues[0], value)}`);
      records.push(r.data);
    });
  if (records.length === 0) throw new Error(`${name}: no records (the file is empty)`);
  return records;
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  if (issue.code === 'invalid_type') {
    if (field === undefined) return `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`;
    const got = (value as Record<string, unknown>)[field];
    if (got === undefined) return `missing field "${field}"`;
    return `field "${field}" must be a ${issue.expected}, got ${got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got}`;
  }
  return field === undefined ? issue.message : `field "${field}": ${issue.message}`;
}

/** Writes records to stdout, one JSON line each. */
export function writeJsonl(records: readonly unknown[]): void {
  if (records.length > 0) process.stdout.write(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

function parser(test: (n: number) => boolean, what: string): (value: string) => number {
  return (value) => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!test(n)) throw new InvalidArgumentError(`expected ${what}`);
    return n;
  };
}
export const positiveInt = parser((n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer');
export const nonNegativeInt = parser((n) => Number.isSafeInteger(n) && n >= 0, 'an integer >= 0');
export const positiveNumber = parser((n) => Number.isFinite(n) && n > 0, 'a number > 0');
export const nonNegativeNumber = parser((n) => Number.isFinite(n) && n >= 0, 'a number >= 0');
export const probability = parser((n) => Number.isFinite(n) && n > 0 && n <= 1, 'a number in (0, 1]');

/** "a,b,c" -> ["a", "b", "c"] (blanks dropped). */
export function commaList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}

/** For repeatable options: each use adds one value. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface ModelCliOptions {
  model: string;
  dtype?: ModelLoadOptions['dtype'];
  device?: string;
}

/** --model DIR (required unless `required` is false), --dtype, --device. */
export function addModelOptions(cmd: Command, what = 'a Hugging Face model folder: config.json, model.safetensors, tokenizer.json', required = true): Command {
  return (required ? cmd.requiredOption('--model <dir>', what) : cmd.option('--model <dir>', what))
    .addOption(new Option('--dtype <type>', 'compute dtype').choices(['float32', 'bfloat16', 'float16']).default('float32'))
    .option('--device <device>', "'cpu' or 'cuda', 'cuda:1', ...", 'cpu');
}
