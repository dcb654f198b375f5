// Objective specs as the CLI takes them ("positivity", "helpful=rm:DIR", "short=fn:FILE.mjs")
// and the scorers they name.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinScorers } from './builtin.js';
import { functionScorer, type SampleScoreFn } from './function-scorer.js';
import { rewardModelScorer, type RewardModelScorerOptions } from './reward-model.js';
import type { Scorer } from './scorer.js';

/** One objective: its name and where its scores come from. */
export type ObjectiveSpec =
  | { kind: 'builtin'; name: string }
  | { kind: 'rm'; name: string; dir: string }
  | { kind: 'fn'; name: string; file: string };

function known(): string {
  return `built-in scorers: ${Object.keys(builtinScorers).join(', ')}; or NAME=rm:DIR (a reward model folder), NAME=fn:FILE.mjs (a module whose default export scores one sample)`;
}

/** Parses each item: a built-in scorer's name, `NAME=rm:DIR` or `NAME=fn:FILE`. Names must not repeat. */
export function parseObjectiveSpecs(list: readonly string[]): ObjectiveSpec[] {
  if (list.length === 0) throw new Error(`no objectives given (${known()})`);
  const specs = list.map(parseObjectiveSpec);
  const seen = new Set<string>();
  for (const { name } of specs) {
    if (seen.has(name)) throw new Error(`objective ${name} is given twice; objective names must be distinct`);
    seen.add(name);
  }
  return specs;
}

function parseObjectiveSpec(item: string): ObjectiveSpec {
  const eq = item.indexOf('=');
  if (eq < 0) {
    if (!Object.hasOwn(builtinScorers, item)) throw new Error(`unknown objective "${item}" (${known()})`);
    return { kind: 'builtin', name: item };
  }
  const name = item.slice(0, eq).trim();
  const source = item.slice(eq + 1).trim();
  const colon = source.indexOf(':');
  const kind = source.slice(0, colon);
  const target = source.slice(colon + 1);
  if (!/^[\w.-]+$/.test(name)) throw new Error(`objective "${item}": the name before "=" must be letters, digits, "_", "." or "-"`);
  if (colon < 0 || (kind !== 'rm' && kind !== 'fn') || target === '') throw new Error(`objective "${item}": expected ${name}=rm:DIR or ${name}=fn:FILE (${known()})`);
  return kind === 'rm' ? { kind: 'rm', name, dir: target } : { kind: 'fn', name, file: target };
}

/** Settings for the scorers that resolveScorers builds. */
export interface ResolveScorersOptions extends RewardModelScorerOptions {
  /** Folder that relative DIR and FILE paths start from. Default process.cwd(). */
  cwd?: string;
}

/**
 * The scorer of each spec, in order. Reward models are loaded lazily (on their first uncached
 * batch); function modules are imported now. Dispose the scorers when done.
 */
export async function resolveScorers(specs: readonly ObjectiveSpec[], options: ResolveScorersOptions = {}): Promise<Scorer[]> {
  const { cwd = process.cwd(), ...rmOptions } = options;
  const scorers: Scorer[] = [];
  try {
    for (const spec of specs) {
      if (spec.kind === 'builtin') scorers.push(builtinScorers[spec.name]());
      else if (spec.kind === 'rm') scorers.push(rewardModelScorer(spec.name, resolve(cwd, spec.dir), rmOptions));
      else scorers.push(await moduleScorer(spec.name, resolve(cwd, spec.file)));
    }
  } catch (err) {
    for (const s of scorers) s.dispose?.();
    throw err;
  }
  return scorers;
}

/**
 * A function scorer from a JS module's default export. Its cache version is the module's
 * `version` export when it has one, else the file's sha256 (so editing the file, helpers
 * included, invalidates its cached scores).
 */
async function moduleScorer(name: string, file: string): Promise<Scorer> {
  let source: Buffer;
  let mod: { default?: unknown; version?: unknown };
  try {
    source = await readFile(file);
    mod = (await import(pathToFileURL(file).href)) as typeof mod;
  } catch (err) {
    throw new Error(`objective ${name}: cannot load ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof mod.default !== 'function') throw new Error(`objective ${name}: ${file} has no default export function (sample => number)`);
  const version = typeof mod.version === 'string' ? mod.version : `sha256-${createHash('sha256').update(source).digest('hex')}`;
  return functionScorer(name, mod.default as SampleScoreFn, { version });
}
