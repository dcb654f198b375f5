// The on-disk score cache: what reaches the scorer on a re-run, an interrupted run, a crash's torn
// line, a changed input, and a folder that cannot be used.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countingScorer, samples } from '../fixtures/scorers/samples.js';
import { positivityScorer, ScoreCache, scoreKey, scoreSamples } from '../../ts/data/scorers/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-score-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const freshDir = () => mkdtempSync(join(tmp, 'cache-'));

const fileOf = (dir: string, id: string) => join(dir, `${createHash('sha256').update(id).digest('hex')}.jsonl`);
const lines = (file: string) => readFileSync(file, 'utf8').split('\n');

describe('ScoreCache', () => {
  it('a second run calls no scorer and gives the same rewards', async () => {
    const dir = freshDir();
    const data = samples(5);
    const first = countingScorer();
    const want = await scoreSamples(data, [first.scorer], { cache: new ScoreCache(dir), batchSize: 2 });
    expect(first.seen).toHaveLength(5);

    const second = countingScorer();
    const progress: number[] = [];
    const got = await scoreSamples(data, [second.scorer], { cache: new ScoreCache(dir), onProgress: (p) => progress.push(p.cached) });
    expect(second.seen).toHaveLength(0);
    expect(got.rewards).toEqual(want.rewards);
    expect(progress).toEqual([5]);
  });

  it('one file per scorer id: a header naming the id, then {k, v} lines', async () => {
    const dir = freshDir();
    const data = samples(3);
    const { scorer } = countingScorer();
    await scoreSamples(data, [scorer, positivityScorer()], { cache: new ScoreCache(dir), batchSize: 2 });
    expect(readdirSync(dir).sort()).toEqual([fileOf(dir, scorer.id), fileOf(dir, 'builtin:positivity@1')].map((f) => f.slice(dir.length + 1)).sort());
    const text = lines(fileOf(dir, scorer.id));
    expect(JSON.parse(text[0])).toEqual({ scorer: 'fn:length:1', format: 1 });
    // a key is sha256(prompt \0 response \0 reference)
    const key = createHash('sha256').update('prompt s1\0response 1\0reference 1').digest('hex');
    expect(scoreKey(data[1])).toBe(key);
    expect(text.slice(1, -1).map((l) => JSON.parse(l))).toEqual(data.map((s, i) => ({ k: scoreKey(s), v: `response ${i}`.length + `reference ${i}`.length })));
    expect(text.at(-1)).toBe('');
  });

  it('an interrupted run keeps its finished batches; the re-run scores only the rest', async () => {
    const dir = freshDir();
    const data = samples(7);
    const abort = new AbortController();
    const first = countingScorer();
    const run = scoreSamples(data, [first.scorer], { cache: new ScoreCache(dir), batchSize: 3, signal: abort.signal, onProgress: (p) => p.done === 3 && abort.abort() });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(first.seen).toHaveLength(3);
    expect(lines(fileOf(dir, first.scorer.id))).toHaveLength(1 + 3 + 1);

    const second = countingScorer();
    const scored = await scoreSamples(data, [second.scorer], { cache: new ScoreCache(dir), batchSize: 3 });
    expect(second.seen.map((s) => s.response)).toEqual(data.slice(3).map((s) => s.response));
    expect(Array.from(scored.column('length'))).toEqual(data.map((s) => s.response.length + s.reference!.length));
  });

  it('a torn last line is ignored and cut off, so the next appends stay whole lines', async () => {
    const dir = freshDir();
    const data = samples(4);
    const { scorer } = countingScorer();
    await scoreSamples(data, [scorer], { cache: new ScoreCache(dir) });
    const file = fileOf(dir, scorer.id);
    const whole = readFileSync(file, 'utf8');
    // a crash in the middle of the last append: its line lacks the newline
    writeFileSync(file, whole.slice(0, -1));

    const again = countingScorer();
    await scoreSamples(data, [again.scorer], { cache: new ScoreCache(dir) });
    expect(again.seen.map((s) => s.response)).toEqual(['response 3']);
    const text = lines(file);
    expect(text.at(-1)).toBe('');
    expect(text.slice(1, -1).map((l) => JSON.parse(l).k)).toEqual(data.map(scoreKey));

    // a torn line that is not even JSON
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"k":"ab`);
    const third = countingScorer();
    await scoreSamples(data, [third.scorer], { cache: new ScoreCache(dir) });
    expect(third.seen).toHaveLength(0);
    expect(readFileSync(file, 'utf8')).toBe(text.join('\n'));
  });

  it('a torn header starts the file afresh', async () => {
    const dir = freshDir();
    const { scorer } = countingScorer();
    writeFileSync(fileOf(dir, scorer.id), '{"scorer":"fn:len');
    await scoreSamples(samples(2), [scorer], { cache: new ScoreCache(dir) });
    expect(JSON.parse(lines(fileOf(dir, scorer.id))[0])).toEqual({ scorer: scorer.id, format: 1 });
    expect(lines(fileOf(dir, scorer.id))).toHaveLength(1 + 2 + 1);
  });

  it('a changed reference (or prompt, or response) misses; a new objective scores only itself', async () => {
    const dir = freshDir();
    const data = samples(3);
    const first = countingScorer();
    await scoreSamples(data, [first.scorer], { cache: new ScoreCache(dir) });

    const changed = data.map((s) => ({ ...s }));
    changed[0].reference = 'another reference';
    changed[2].response = 'another response';
    const second = countingScorer();
    const extra = countingScorer('extra');
    const scored = await scoreSamples(changed, [second.scorer, extra.scorer], { cache: new ScoreCache(dir) });
    expect(second.seen.map((s) => s.response)).toEqual(['response 0', 'another response']);
    expect(extra.seen).toHaveLength(3);
    expect(scored.rewardsOf(0)).toEqual([10 + 17, 10 + 17]);
  });

  it('a folder that cannot be created is a clear error naming it and the ways around it', async () => {
    const blocker = join(tmp, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const dir = join(blocker, 'scores');
    const { scorer, seen } = countingScorer();
    const run = scoreSamples(samples(2), [scorer], { cache: new ScoreCache(dir) });
    await expect(run).rejects.toThrow(`cannot use the score cache folder ${dir}`);
    await expect(scoreSamples(samples(2), [scorer], { cache: new ScoreCache(dir) })).rejects.toThrow(/--cache DIR.*--no-cache/);
    expect(seen).toHaveLength(0);
  });

  it('a file of another scorer under this name is an error naming the file', async () => {
    const dir = freshDir();
    const { scorer } = countingScorer();
    writeFileSync(fileOf(dir, scorer.id), '{"scorer":"fn:other:1","format":1}\n');
    await expect(scoreSamples(samples(1), [scorer], { cache: new ScoreCache(dir) })).rejects.toThrow(`${fileOf(dir, scorer.id)}, line 1: not a moalign score cache`);
  });
});
