// Files in and out: JSONL and Parquet round trips (exact doubles, awkward text), Parquet column
// handling, empty files, atomic writes that refuse to overwrite.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileWriter, parquetWriteFile, parquetWriteRows } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { readPrompts, readScoredDataset, readTextSamples, writePrompts, writeScoredDataset, writeTextSamples } from '../../ts/data/dataset.js';
import { readJsonlRecords, stringifyJson, writeJsonlAtomic } from '../../ts/data/jsonl.js';
import { ScoredDataset, type PromptRecord, type Sample } from '../../ts/data/records.js';

const dir = mkdtempSync(join(tmpdir(), 'moalign-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
/** A fresh path in the temp folder. */
const fresh = (ext: string) => join(dir, `f${++counter}${ext}`);

const AWKWARD_TEXT = 'line one\nline "two" with \\backslash\\, a tab\tand\r\nCRLF; unicode: ünïcödé, 中文, emoji 🙂, a separator \u2028 and NUL \u0000.';
// Doubles whose text forms are easy to get wrong: 0.1 + 0.2, -0 (in a column that also holds 0),
// subnormals, the extremes.
const AWKWARD_DOUBLES = [0.1 + 0.2, 0, 1e-300, 5e-324, -1.7976931348623157e308, -0, 2 ** 53 + 2, -0, -123.456e-7];

function awkwardDataset(): ScoredDataset {
  const samples: Sample[] = [
    { id: 'a', prompt: AWKWARD_TEXT, response: 'plain', origin: 'dataset' },
    { id: 'b/chosen', prompt: '\n\nHuman: hi\n\nAssistant:', response: AWKWARD_TEXT, reference: 'ref "quoted"', group: 'b', origin: 'dataset' },
    { id: 'c', prompt: 'p', response: 'generated ✓', origin: 'generated', generatedBy: { model: 'tiny', preference: [0.25, 0.75, 0], seed: 7, temperature: 0.7 } },
  ];
  // 3 samples × 3 objectives = 9 rewards: the awkward doubles, each once.
  return new ScoredDataset(['helpful', 'harmless', 'humor score'], samples, Float64Array.from(AWKWARD_DOUBLES));
}

/** Same objectives, samples and rewards, every double bit for bit (so -0 differs from 0). */
function expectSameDataset(actual: ScoredDataset, expected: ScoredDataset): void {
  expect(actual.objectives).toEqual(expected.objectives);
  expect(actual.samples).toEqual(expected.samples);
  expect(actual.rewards.length).toBe(expected.rewards.length);
  expected.rewards.forEach((v, k) => {
    const show = (x: number) => (Object.is(x, -0) ? '-0' : String(x));
    if (!Object.is(actual.rewards[k], v)) expect.fail(`reward ${k}: got ${show(actual.rewards[k])}, expected ${show(v)}`);
  });
}

describe('round trips', () => {
  for (const ext of ['.jsonl', '.parquet']) {
    it(`scored dataset, ${ext}: identical after write and read, -0 and subnormals included`, async () => {
      const file = fresh(ext);
      const dataset = awkwardDataset();
      await writeScoredDataset(file, dataset);
      const { dataset: back, report } = await readScoredDataset(file);
      expectSameDataset(back, dataset);
      expect(report).toEqual({ file, format: ext.slice(1), records: 3, duplicates: 0, skipped: [], ignoredColumns: [] });
    });

    it(`unscored samples, ${ext}`, async () => {
      const file = fresh(ext);
      const samples = awkwardDataset().samples;
      await writeTextSamples(file, samples);
      expect((await readTextSamples(file)).samples).toEqual(samples);
    });

    it(`prompts, ${ext}`, async () => {
      const file = fresh(ext);
      const prompts: PromptRecord[] = [{ id: 'p1', prompt: AWKWARD_TEXT, reference: 'gold' }, { id: 'p2', prompt: 'second' }];
      await writePrompts(file, prompts);
      expect((await readPrompts(file)).prompts).toEqual(prompts);
    });
  }

  it('the JSONL writes -0 as -0 and numbers in shortest round-trip form', async () => {
    const file = fresh('.jsonl');
    await writeScoredDataset(file, awkwardDataset());
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toContain('"rewards":{"helpful":0.30000000000000004,"harmless":0,"humor score":1e-300}');
    expect(lines[1]).toContain('"rewards":{"helpful":5e-324,"harmless":-1.7976931348623157e+308,"humor score":-0}');
    expect(stringifyJson({ a: [-0, 1.5, 'x'], b: undefined, c: null })).toBe('{"a":[-0,1.5,"x"],"c":null}');
    expect(() => stringifyJson({ r: Number.NaN })).toThrow('cannot write NaN as JSON');
  });

  it('Parquet keeps -0 apart from 0 in a column of repeated values (where a dictionary would merge them)', async () => {
    const file = fresh('.parquet');
    const samples: Sample[] = Array.from({ length: 64 }, (_, i) => ({ id: `s${i}`, prompt: 'p', response: `r${i}`, origin: 'dataset' }));
    const rewards = Float64Array.from({ length: 128 }, (_, k) => (k % 3 === 0 ? -0 : 0));
    const dataset = new ScoredDataset(['a', 'b'], samples, rewards);
    await writeScoredDataset(file, dataset);
    expectSameDataset((await readScoredDataset(file)).dataset, dataset);
  });

  it('`format` overrides the file name', async () => {
    const file = fresh('.data');
    await writeScoredDataset(file, awkwardDataset(), { format: 'parquet' });
    expect(readFileSync(file).subarray(0, 4).toString()).toBe('PAR1');
    expectSameDataset((await readScoredDataset(file, { format: 'parquet' })).dataset, awkwardDataset());
  });
});

describe('JSONL reading', () => {
  it('numbers lines from 1, counting blank lines, across CRLF and a byte order mark', async () => {
    const file = fresh('.jsonl');
    writeFileSync(file, '\uFEFF{"a":1}\r\n\r\n   \n{"a":2}\n{oops\n{"a":3}');
    const got: unknown[] = [];
    for await (const r of readJsonlRecords(file)) got.push(r);
    expect(got).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 4, value: { a: 2 } },
      { line: 5, problem: expect.stringMatching(/^not valid JSON \(/) },
      { line: 6, value: { a: 3 } },
    ]);
  });

  it('a missing file is an error naming it', async () => {
    const file = join(dir, 'nope.jsonl');
    await expect(readScoredDataset(file)).rejects.toThrow(file);
  });
});

describe('Parquet columns', () => {
  const textColumns = (rows: number) => [
    { name: 'id', data: Array.from({ length: rows }, (_, i) => `s${i}`), type: 'STRING' as const },
    { name: 'prompt', data: Array.from({ length: rows }, (_, i) => `prompt ${i}`), type: 'STRING' as const },
    { name: 'response', data: Array.from({ length: rows }, (_, i) => `response ${i}`), type: 'STRING' as const },
  ];

  it('unknown columns are ignored and listed; rewards.<name> columns give the objectives in column order', async () => {
    const file = fresh('.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'source', data: ['x', 'y'], type: 'STRING' },
        ...textColumns(2),
        { name: 'rewards.b', data: [1, 2], type: 'DOUBLE' },
        { name: 'rewards.a', data: [3, 4], type: 'DOUBLE' },
        { name: 'length', data: [10, 20], type: 'INT32' },
      ],
    });
    const { dataset, report } = await readScoredDataset(file);
    expect(report.ignoredColumns).toEqual(['source', 'length']);
    expect(dataset.objectives).toEqual(['b', 'a']);
    expect(Array.from(dataset.rewards)).toEqual([1, 3, 2, 4]);
    expect(dataset.samples[1]).toEqual({ id: 's1', prompt: 'prompt 1', response: 'response 1', origin: 'dataset' });
    // an unscored read of the same file ignores the reward columns too
    expect((await readTextSamples(file)).report.ignoredColumns).toEqual(['source', 'rewards.b', 'rewards.a', 'length']);
  });

  it('a struct column "rewards" is read as the rewards', async () => {
    const file = fresh('.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [...textColumns(2).map(({ type: _, ...c }) => c), { name: 'rewards', data: [{ helpful: 0.5, harmless: -1 }, { helpful: 2, harmless: 3 }] }],
      schema: [
        { name: 'root', num_children: 4 },
        ...['id', 'prompt', 'response'].map((name) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const })),
        { name: 'rewards', repetition_type: 'REQUIRED', num_children: 2 },
        { name: 'helpful', type: 'DOUBLE', repetition_type: 'REQUIRED' },
        { name: 'harmless', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      ],
    });
    const { dataset } = await readScoredDataset(file);
    expect(dataset.objectives).toEqual(['helpful', 'harmless']);
    expect(Array.from(dataset.rewards)).toEqual([0.5, -1, 2, 3]);
  });

  it('a missing required column is an error naming it and the file', async () => {
    const file = fresh('.parquet');
    parquetWriteFile({ filename: file, columnData: [textColumns(1)[1], { name: 'rewards.a', data: [1], type: 'DOUBLE' }, { name: 'rewards.b', data: [1], type: 'DOUBLE' }] });
    await expect(readScoredDataset(file)).rejects.toThrow(`${file}: missing required column "response" (the file has: prompt, rewards.a, rewards.b)`);
    await expect(readScoredDataset(file, { objectives: ['a', 'c'] })).rejects.toThrow(`${file}: missing required columns "response", "rewards.c"`);
    await expect(readTextSamples(file)).rejects.toThrow(`${file}: missing required column "response"`);
    const noRewards = fresh('.parquet');
    parquetWriteFile({ filename: noRewards, columnData: textColumns(1) });
    await expect(readScoredDataset(noRewards)).rejects.toThrow(/missing required column "rewards.<objective>"/);
  });

  it('rows are numbered from 1 across row groups; a null cell is a missing field', async () => {
    const file = fresh('.parquet');
    const rows = Array.from({ length: 10 }, (_, i) => ({ prompt: `p${i}`, response: i === 7 ? null : `r${i}`, 'rewards.a': i, 'rewards.b': -i }));
    parquetWriteRows({
      writer: fileWriter(file),
      rows,
      rowGroupSize: 3,
      columns: [
        { name: 'prompt', type: 'STRING' },
        { name: 'response', type: 'STRING', nullable: true },
        { name: 'rewards.a', type: 'DOUBLE' },
        { name: 'rewards.b', type: 'DOUBLE' },
      ],
    });
    await expect(readScoredDataset(file)).rejects.toThrow(`${file}, row 8: missing field "response"`);
    const { dataset, report } = await readScoredDataset(file, { onInvalid: 'skip' });
    expect(report.skipped).toEqual([{ file, line: 8, message: 'missing field "response"' }]);
    // ids of rows without one come from the row number
    expect(dataset.samples.map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 10].map((r) => `${file.split('/').pop()}:${r}`));
    expect(dataset.column('a')).toEqual(Float64Array.of(0, 1, 2, 3, 4, 5, 6, 8, 9));
  });

  it('a file that is not Parquet is an error naming it', async () => {
    const file = fresh('.parquet');
    writeFileSync(file, 'this is not parquet at all, just text');
    await expect(readScoredDataset(file)).rejects.toThrow(`${file}: not a Parquet file`);
  });
});

describe('empty files', () => {
  it('an empty or blank JSONL file has no records', async () => {
    for (const text of ['', '\n\n  \n']) {
      const file = fresh('.jsonl');
      writeFileSync(file, text);
      await expect(readScoredDataset(file)).rejects.toThrow(`${file}: no records`);
      await expect(readTextSamples(file)).rejects.toThrow(`${file}: no records`);
      await expect(readPrompts(file)).rejects.toThrow(`${file}: no records`);
    }
  });

  it('an empty (0-byte) or row-less Parquet file has no records', async () => {
    const empty = fresh('.parquet');
    writeFileSync(empty, '');
    await expect(readScoredDataset(empty)).rejects.toThrow(`${empty}: no records (the file is empty)`);
    const rowless = fresh('.parquet');
    await writeTextSamples(rowless, []);
    await expect(readTextSamples(rowless)).rejects.toThrow(`${rowless}: no records`);
  });
});

describe('atomic writes', () => {
  it('refuse to replace an existing file unless overwrite is set', async () => {
    for (const ext of ['.jsonl', '.parquet']) {
      const file = fresh(ext);
      const dataset = awkwardDataset();
      await writeScoredDataset(file, dataset);
      await expect(writeScoredDataset(file, dataset.subset([0]))).rejects.toThrow(`${file} already exists; pass overwrite: true to replace it`);
      expect((await readScoredDataset(file)).dataset.size).toBe(3);
      await writeScoredDataset(file, dataset.subset([2, 0]), { overwrite: true });
      expect((await readScoredDataset(file)).dataset.samples.map((s) => s.id)).toEqual(['c', 'a']);
    }
  });

  it('a failed write leaves neither the file nor a temporary behind', async () => {
    const sub = mkdtempSync(join(dir, 'fail-'));
    await expect(writeJsonlAtomic(join(sub, 'x.jsonl'), [{ a: 1 }, { a: Number.NaN }])).rejects.toThrow('cannot write NaN as JSON');
    const bad = new ScoredDataset(['a', 'b'], [{ id: 'q', prompt: 'p', response: 'r', origin: 'dataset' }], Float64Array.of(1, Number.POSITIVE_INFINITY));
    await expect(writeScoredDataset(join(sub, 'y.parquet'), bad)).rejects.toThrow('sample "q" (row 0) has reward Infinity on objective "b"');
    expect(readdirSync(sub)).toEqual([]);
  });

  it('writes from an async iterable', async () => {
    const file = fresh('.jsonl');
    async function* records() {
      for (let i = 0; i < 3; i++) yield { i };
    }
    await writeJsonlAtomic(file, records());
    expect(readFileSync(file, 'utf8')).toBe('{"i":0}\n{"i":1}\n{"i":2}\n');
  });
});
