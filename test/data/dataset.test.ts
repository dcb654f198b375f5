// Reading datasets: record validation with line numbers ('error' and 'skip'), objectives, HH
// pairs, ids, de-duplication, and a 320,000-record file streamed in and out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPrompts, readScoredDataset, readTextSamples } from '../../ts/data/dataset.js';
import { writeJsonlAtomic } from '../../ts/data/jsonl.js';

const dir = mkdtempSync(join(tmpdir(), 'moalign-dataset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
/** Writes `lines` (objects are JSON-encoded, strings written as they are) to a fresh JSONL file. */
function jsonl(lines: (object | string)[]): string {
  const file = join(dir, `d${++counter}.jsonl`);
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
  return file;
}
const scored = (id: string, rewards: Record<string, unknown>, prompt = `prompt ${id}`, response = `response ${id}`) => ({ id, prompt, response, rewards });

describe('invalid scored records', () => {
  const good = scored('g', { helpful: 1, harmless: 2 });
  // Each kind of bad record, as the line after a good one; the reward names come from line 1.
  const cases: [string, object | string, string][] = [
    ['bad JSON', '{"id": "x", "prompt": ', 'not valid JSON ('],
    ['a JSON array', '[1, 2]', 'expected a JSON object, got an array'],
    ['missing prompt', { id: 'x', response: 'r', rewards: { helpful: 1, harmless: 2 } }, 'missing field "prompt"'],
    ['empty prompt', scored('x', { helpful: 1, harmless: 2 }, ''), 'field "prompt" is empty'],
    ['prompt not a string', { ...scored('x', { helpful: 1, harmless: 2 }), prompt: 42 }, 'field "prompt" must be a string, got 42'],
    ['missing rewards', { id: 'x', prompt: 'p', response: 'r' }, 'missing field "rewards"'],
    ['string "NaN" reward', scored('x', { helpful: 'NaN', harmless: 2 }), 'field "rewards.helpful" must be a finite number, got the string "NaN"'],
    ['1e999 reward (Infinity)', '{"id": "x", "prompt": "p", "response": "r", "rewards": {"helpful": 1, "harmless": -1e999}}', 'field "rewards.harmless" must be a finite number, got -Infinity'],
    ['null reward', scored('x', { helpful: 1, harmless: null }), 'field "rewards.harmless" must be a finite number, got null'],
    ['missing objective', scored('x', { helpful: 1 }), 'missing objective "harmless" in field "rewards" (objectives: helpful, harmless)'],
    ['extra objective', scored('x', { helpful: 1, harmless: 2, humor: 3 }), 'unexpected objective "humor" in field "rewards"'],
  ];

  for (const [what, bad, message] of cases) {
    it(`${what}: 'error' names the file and line`, async () => {
      const file = jsonl([good, '', bad, scored('h', { helpful: 3, harmless: 4 })]);
      await expect(readScoredDataset(file)).rejects.toThrow(`${file}, line 3: ${message}`);
    });
  }

  it("'skip' lists every bad record with its line and keeps the good ones", async () => {
    const lines = [good, ...cases.map((c) => c[1]), '', scored('h', { helpful: 3, harmless: 4 })];
    const file = jsonl(lines);
    const { dataset, report } = await readScoredDataset(file, { onInvalid: 'skip' });
    expect(dataset.samples.map((s) => s.id)).toEqual(['g', 'h']);
    expect(Array.from(dataset.rewards)).toEqual([1, 2, 3, 4]);
    expect(report.records).toBe(2);
    expect(report.skipped.map((s) => s.line)).toEqual(cases.map((_, k) => k + 2));
    report.skipped.forEach((s, k) => {
      expect(s.file).toBe(file);
      expect(s.message.startsWith(cases[k][2])).toBe(true);
    });
  });

  it('a file whose records are all invalid has no records', async () => {
    const file = jsonl(['{', scored('x', { a: 'high', b: 1 })]);
    await expect(readScoredDataset(file, { onInvalid: 'skip' })).rejects.toThrow(`${file}: no records (all 2 are invalid; the first, ${file}, line 1: not valid JSON`);
  });
});

describe('objectives', () => {
  it('without `objectives`, the first valid record sets names and order', async () => {
    const file = jsonl(['{bad', scored('a', { z: 1, y: 2, x: 3 }), scored('b', { x: 6, y: 5, z: 4 })]);
    const { dataset } = await readScoredDataset(file, { onInvalid: 'skip' });
    expect(dataset.objectives).toEqual(['z', 'y', 'x']);
    expect(Array.from(dataset.rewards)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('`objectives` fixes the order, ignores other rewards and requires its own', async () => {
    const file = jsonl([scored('a', { helpful: 1, harmless: 2, humor: 9 }), scored('b', { harmless: 4, helpful: 3 })]);
    const { dataset } = await readScoredDataset(file, { objectives: ['harmless', 'helpful'] });
    expect(dataset.objectives).toEqual(['harmless', 'helpful']);
    expect(Array.from(dataset.rewards)).toEqual([2, 1, 4, 3]);
    await expect(readScoredDataset(file, { objectives: ['humor', 'helpful'] })).rejects.toThrow(`${file}, line 2: missing objective "humor"`);
  });

  it('fewer than two objectives is an error, unless minObjectives allows it', async () => {
    const file = jsonl([scored('a', { helpful: 1 }), scored('b', { helpful: 2 })]);
    await expect(readScoredDataset(file)).rejects.toThrow(`${file}, line 1: field "rewards" names 1 objective ("helpful"); at least 2 are needed`);
    await expect(readScoredDataset(file, { onInvalid: 'skip' })).rejects.toThrow(/at least 2 are needed/);
    await expect(readScoredDataset(file, { objectives: ['helpful'] })).rejects.toThrow('options.objectives names 1 objective');
    const { dataset } = await readScoredDataset(file, { minObjectives: 1 });
    expect(dataset.objectives).toEqual(['helpful']);
    expect(Array.from(dataset.rewards)).toEqual([1, 2]);
  });
});

describe('unscored samples and HH pairs', () => {
  it('a missing id becomes <file name>:<line>; origin defaults to dataset', async () => {
    const file = jsonl([{ prompt: 'p1', response: 'r1' }, '', { id: 'own', prompt: 'p2', response: 'r2', reference: 'gold', group: 'g' }, { prompt: 'p3', response: 'r3' }]);
    const { samples } = await readTextSamples(file);
    expect(samples).toEqual([
      { id: `${basename(file)}:1`, prompt: 'p1', response: 'r1', origin: 'dataset' },
      { id: 'own', prompt: 'p2', response: 'r2', reference: 'gold', group: 'g', origin: 'dataset' },
      { id: `${basename(file)}:4`, prompt: 'p3', response: 'r3', origin: 'dataset' },
    ]);
  });

  it('HH pairs, detected record by record, give two samples sharing the pair id as group', async () => {
    const file = jsonl([
      { chosen: '\n\nHuman: Hi\n\nAssistant: Hello!', rejected: '\n\nHuman: Hi\n\nAssistant: What.' },
      { prompt: 'plain', response: 'sample' },
      { id: 'hh-7', chosen: '\n\nHuman: A\n\nAssistant: B\n\nHuman: C\n\nAssistant: D', rejected: '\n\nHuman: A\n\nAssistant: B\n\nHuman: C\n\nAssistant: E' },
    ]);
    const { samples, report } = await readTextSamples(file);
    const pair1 = `${basename(file)}:1`;
    expect(samples).toEqual([
      { id: `${pair1}/chosen`, prompt: '\n\nHuman: Hi\n\nAssistant:', response: 'Hello!', group: pair1, origin: 'dataset' },
      { id: `${pair1}/rejected`, prompt: '\n\nHuman: Hi\n\nAssistant:', response: 'What.', group: pair1, origin: 'dataset' },
      { id: `${basename(file)}:2`, prompt: 'plain', response: 'sample', origin: 'dataset' },
      { id: 'hh-7/chosen', prompt: '\n\nHuman: A\n\nAssistant: B\n\nHuman: C\n\nAssistant:', response: 'D', group: 'hh-7', origin: 'dataset' },
      { id: 'hh-7/rejected', prompt: '\n\nHuman: A\n\nAssistant: B\n\nHuman: C\n\nAssistant:', response: 'E', group: 'hh-7', origin: 'dataset' },
    ]);
    expect(report.records).toBe(5);
  });

  it('a pair that cannot be split, or lacks a side, is invalid at its line', async () => {
    const file = jsonl([
      { prompt: 'ok', response: 'fine' },
      { chosen: '\n\nHuman: Hi\n\nAssistant: Yes', rejected: '\n\nHuman: Hi' },
      { chosen: '\n\nHuman: Hi\n\nAssistant: Yes' },
      { prompt: 'p', response: '' },
    ]);
    await expect(readTextSamples(file)).rejects.toThrow(`${file}, line 2: field "rejected": no "\\n\\nAssistant:" marker in the dialogue`);
    const { report } = await readTextSamples(file, { onInvalid: 'skip' });
    expect(report.skipped).toEqual([
      { file, line: 2, message: 'field "rejected": no "\\n\\nAssistant:" marker in the dialogue' },
      { file, line: 3, message: 'missing field "rejected"' },
      { file, line: 4, message: 'field "response" is empty' },
    ]);
  });

  it('prompts: missing ids from the line, empty prompts invalid', async () => {
    const file = jsonl([{ prompt: 'first' }, { id: 'p2', prompt: 'second', reference: 'r' }, { prompt: '' }]);
    await expect(readPrompts(file)).rejects.toThrow(`${file}, line 3: field "prompt" is empty`);
    const { prompts } = await readPrompts(file, { onInvalid: 'skip' });
    expect(prompts).toEqual([{ id: `${basename(file)}:1`, prompt: 'first' }, { id: 'p2', prompt: 'second', reference: 'r' }]);
  });
});

describe('de-duplication', () => {
  it('removes exact (prompt, response) repeats, keeps the first, and counts them', async () => {
    const file = jsonl([
      scored('a', { x: 1, y: 1 }, 'P', 'R'),
      scored('b', { x: 2, y: 2 }, 'P', 'R2'), // same prompt, other response: kept
      scored('c', { x: 3, y: 3 }, 'P2', 'R'), // other prompt, same response: kept
      scored('d', { x: 4, y: 4 }, 'P', 'R'), // repeat of a (rewards differ: still a duplicate)
      scored('e', { x: 5, y: 5 }, 'PR', ''), // invalid (empty response): skipped, not a duplicate
      scored('f', { x: 6, y: 6 }, 'P2', 'R'), // repeat of c
      scored('g', { x: 7, y: 7 }, 'P', 'R'), // repeat of a again
    ]);
    const { dataset, report } = await readScoredDataset(file, { onInvalid: 'skip' });
    expect(dataset.samples.map((s) => s.id)).toEqual(['a', 'b', 'c']);
    expect(Array.from(dataset.column('x'))).toEqual([1, 2, 3]);
    expect(report).toMatchObject({ records: 3, duplicates: 3 });
    expect(report.skipped.map((s) => s.line)).toEqual([5]); // the empty response
    const all = await readScoredDataset(file, { onInvalid: 'skip', dedupe: false });
    expect(all.dataset.samples.map((s) => s.id)).toEqual(['a', 'b', 'c', 'd', 'f', 'g']);
    expect(all.report.duplicates).toBe(0);
  });

  it('HH pairs with identical sides and repeated prompts count too', async () => {
    const same = '\n\nHuman: Q\n\nAssistant: A';
    const file = jsonl([{ chosen: same, rejected: same }, { chosen: same, rejected: '\n\nHuman: Q\n\nAssistant: B' }, { prompt: 'Z', response: 'z' }]);
    const { samples, report } = await readTextSamples(file);
    expect(samples.map((s) => s.response)).toEqual(['A', 'B', 'z']);
    expect(report).toMatchObject({ records: 3, duplicates: 2 });
    const prompts = jsonl([{ prompt: 'a' }, { prompt: 'b' }, { prompt: 'a', reference: 'other' }]);
    expect((await readPrompts(prompts)).report).toMatchObject({ records: 2, duplicates: 1 });
  });
});

describe('streaming', () => {
  it('320,000 scored records are written and read back', async () => {
    const n = 320_000;
    const file = join(dir, 'big.jsonl');
    // Every 1000th record repeats the text of the record 500 before it: 320 duplicates.
    const text = (i: number) => (i % 1000 === 999 ? i - 500 : i);
    function* records() {
      for (let i = 0; i < n; i++) {
        const t = text(i);
        yield { id: `r${i}`, prompt: `\n\nHuman: question ${t}\n\nAssistant:`, response: `answer ${t} ✓`, rewards: { helpful: i / 7 - 1000, harmless: (i % 97) * -0.5 } };
      }
    }
    await writeJsonlAtomic(file, records());
    const { dataset, report } = await readScoredDataset(file);
    expect(report).toMatchObject({ records: n - 320, duplicates: 320, skipped: [] });
    expect(dataset.size).toBe(n - 320);
    expect(dataset.rewards.length).toBe((n - 320) * 2);
    // Spot checks: record i sits at row i − (duplicates before it).
    for (const i of [0, 998, 1000, 123_456, n - 2]) {
      const row = i - Math.floor((i + 1) / 1000);
      expect(dataset.samples[row].id).toBe(`r${i}`);
      expect(dataset.samples[row].response).toBe(`answer ${i} ✓`);
      expect(dataset.rewardsOf(row)).toEqual([i / 7 - 1000, (i % 97) * -0.5]);
    }
    expect(dataset.samples.some((s) => s.id === 'r999')).toBe(false);
  }, 60_000);
});
