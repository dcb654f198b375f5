// `moalign score-data`, spawned from source as `npx moalign` would run it, its output checked
// against the library's statistics and a direct RewardModel call made here in the test process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';
import { readScoredDataset } from '../../ts/data/dataset.js';
import { afinnScore, tokenF1, wordCount } from '../../ts/data/scorers/index.js';
import { RewardModel } from '../../ts/engine/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-score-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** The default cache folder of every run here (never the user's ~/.cache). */
const defaultCache = join(tmp, 'default-cache');
// the HH test checks that --no-cache leaves it uncreated, so it must not exist yet
beforeAll(() => rmSync(defaultCache, { recursive: true, force: true }));

const moalign = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', 'score-data', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, MOALIGN_CACHE_DIR: defaultCache },
  });

let files = 0;
/** A new path in tmp (the file is written when `text` is given). */
function path(ext: string, text?: string): string {
  const p = join(tmp, `f${files++}.${ext}`);
  if (text !== undefined) writeFileSync(p, text);
  return p;
}
const jsonl = (records: unknown[]) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
const readRecords = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; prompt: string; response: string; reference?: string; rewards: Record<string, number> });
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

const records = [
  { id: 'r1', prompt: 'How was the film?', response: 'A wonderful film, not bad at all.', reference: 'a wonderful film' },
  { id: 'r2', prompt: 'Any advice?', response: 'Sorry, I cannot help.', reference: 'I can help: rest, drink water.' },
  { prompt: 'Say hi', response: 'Hi!', reference: 'hello' },
];

describe('moalign score-data', () => {
  it('scores a JSONL file: each record gets the library statistics, in input order; a re-run is served from the cache', () => {
    const data = path('jsonl', jsonl(records));
    const out = path('jsonl');
    const cache = join(tmp, 'cache-1');
    const run = moalign(['--data', data, '--objectives', 'positivity,fidelity,conciseness', '--out', out, '--cache', cache, '--batch-size', '2']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    const got = readRecords(out);
    expect(got.map((r) => r.id)).toEqual(['r1', 'r2', `${data.split('/').at(-1)}:3`]);
    got.forEach((r, i) => {
      expect(r.response).toBe(records[i].response);
      expect(r.rewards).toEqual({ positivity: afinnScore(records[i].response), fidelity: tokenF1(records[i].response, records[i].reference), conciseness: -wordCount(records[i].response) });
    });
    // wonderful +4, bad -3 after "not" -> +3
    expect(got[0].rewards.positivity).toBe(7);
    expect(run.stderr).toMatch(/read 3 samples/);
    expect(run.stderr).toMatch(/cache hits: positivity 0\/3, fidelity 0\/3, conciseness 0\/3/);
    expect(readdirSync(cache)).toHaveLength(3);

    const again = moalign(['--data', data, '--objectives', 'positivity,fidelity,conciseness', '--out', out, '--cache', cache, '--overwrite']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/cache hits: positivity 3\/3, fidelity 3\/3, conciseness 3\/3/);
    expect(readRecords(out)).toEqual(got);
  });

  it('scores an Anthropic HH pair file: two samples per pair, the last Assistant turn scored', () => {
    const pairs = [
      { chosen: '\n\nHuman: Is it good?\n\nAssistant: Yes, it is good and I love it.', rejected: '\n\nHuman: Is it good?\n\nAssistant: No. It is bad.' },
      { chosen: '\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Thanks\n\nAssistant: Happy to help!', rejected: '\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Thanks\n\nAssistant: Whatever.' },
    ];
    const out = path('jsonl');
    const run = moalign(['--data', path('jsonl', jsonl(pairs)), '--objectives', 'positivity,conciseness', '--out', out, '--no-cache']);
    expect(run.status, run.stderr).toBe(0);
    const got = readRecords(out);
    expect(got.map((r) => r.response)).toEqual(['Yes, it is good and I love it.', 'No. It is bad.', 'Happy to help!', 'Whatever.']);
    expect(got[3].prompt).toBe('\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Thanks\n\nAssistant:');
    // yes +1, good +3, love +3; no -1, bad -3; happy +3, help +2; whatever 0
    expect(got.map((r) => r.rewards)).toEqual([
      { positivity: 7, conciseness: -8 },
      { positivity: -4, conciseness: -4 },
      { positivity: 5, conciseness: -3 },
      { positivity: 0, conciseness: -1 },
    ]);
    expect(run.stderr).toMatch(/no cache/);
    expect(existsSync(defaultCache)).toBe(false);

    // HH samples have no reference, so fidelity cannot score them
    const fidelity = moalign(['--data', path('jsonl', jsonl(pairs)), '--objectives', 'positivity,fidelity', '--out', path('jsonl'), '--no-cache']);
    expect(fidelity.status).toBe(1);
    expect(fidelity.stderr).toMatch(/fidelity needs a reference, and sample .*:1\/chosen has none/);
    noStack(fidelity.stderr);
  });

  it('reward-model and function objectives, Parquet out, the default cache folder', async () => {
    const rmDir = await fixtureModelDir('gpt2-reward', tmp);
    const fn = path('mjs', 'export default (s) => s.prompt.length - s.response.length;\n');
    const out = path('parquet');
    const run = moalign(['--data', path('jsonl', jsonl(records)), '--objectives', `helpful=rm:${rmDir},gap=fn:${fn}`, '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    using rm = await RewardModel.load(rmDir);
    const want = rm.score(records);
    const { dataset } = await readScoredDataset(out);
    expect(dataset.objectives).toEqual(['helpful', 'gap']);
    records.forEach((r, i) => {
      expect(dataset.rewardsOf(i)[0]).toBeCloseTo(want[i], 5);
      expect(dataset.rewardsOf(i)[1]).toBe(r.prompt.length - r.response.length);
    });
    expect(readdirSync(join(defaultCache, 'scores'))).toHaveLength(2);
  });

  it('refuses to replace --out without --overwrite, before scoring', () => {
    const out = path('jsonl', 'keep me\n');
    const run = moalign(['--data', path('jsonl', jsonl(records)), '--objectives', 'positivity', '--out', out, '--no-cache']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/exists; pass --overwrite/);
    expect(run.stderr).not.toMatch(/read \d+ samples/);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
  });

  it('--on-invalid skip scores the valid records and lists the skipped ones by line (ten, then a count), and duplicates removed', () => {
    const lines = [...records.slice(0, 2), 'not json', ...Array.from({ length: 11 }, (_, i) => ({ prompt: `p${i}`, response: '' })), records[2], { ...records[0], id: 'again' }];
    const data = path('jsonl', jsonl(lines));
    const out = path('jsonl');
    const run = moalign(['--data', data, '--objectives', 'conciseness', '--out', out, '--on-invalid', 'skip', '--no-cache']);
    expect(run.status, run.stderr).toBe(0);
    expect(readRecords(out).map((r) => r.response)).toEqual(records.map((r) => r.response));
    expect(run.stderr).toMatch(/read 3 samples .*; skipped 12 invalid/);
    expect(run.stderr).toContain(`${data}:3: not valid JSON`);
    expect(run.stderr).toContain(`${data}:4: field "response"`);
    expect(run.stderr).toContain(`${data}:12: field "response"`);
    expect(run.stderr).not.toContain(`${data}:13:`);
    expect(run.stderr).toContain('and 2 more');
    expect(run.stderr).toMatch(/removed 1 duplicate sample\n/);

    const strict = moalign(['--data', data, '--objectives', 'conciseness', '--out', path('jsonl'), '--no-cache']);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/line 3: not valid JSON/);
  });

  it('an unknown objective is exit code 1 and a message listing the known ones', () => {
    const out = path('jsonl');
    const run = moalign(['--data', path('jsonl', jsonl(records)), '--objectives', 'positivity,politeness', '--out', out]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^moalign: unknown objective "politeness" \(built-in scorers: positivity, fidelity, conciseness/);
    noStack(run.stderr);
    expect(existsSync(out)).toBe(false);
  });

  it('a cache folder that cannot be created is a clear error', () => {
    const blocker = path('txt', 'a file, not a folder');
    const run = moalign(['--data', path('jsonl', jsonl(records)), '--objectives', 'positivity', '--out', path('jsonl'), '--cache', join(blocker, 'scores')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot use the score cache folder .*scores.*--cache DIR.*--no-cache/);
    noStack(run.stderr);
  });
});
