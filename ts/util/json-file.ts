// Reading a JSON file that moalign or the user wrote, with errors that name the file: a missing
// file keeps Node's own error (ENOENT names the path), bad JSON says where.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** `text` (the content of `file`) parsed. */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** The parsed content of `file`. */
export function readJsonFile(file: string): unknown {
  return parseJsonText(file, readFileSync(file, 'utf8'));
}

/** The parsed content of `file`, read without blocking. */
export async function readJsonFileAsync(file: string): Promise<unknown> {
  return parseJsonText(file, await readFile(file, 'utf8'));
}
