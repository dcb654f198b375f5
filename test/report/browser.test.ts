// The comparison report in a real browser: the hand-made fixture runs are compared and written to
// report.html, which a headless Chromium (the system's, driven by playwright-core, which downloads
// no browser) opens from disk. The page must show the metrics table and every method's front, make
// no request besides the file itself, and its screenshot lands in test-output/report.png.
// Chromium is found as MOALIGN_CHROMIUM, or chromium / chromium-browser on PATH; `npm ci` installs
// Debian's package where it can (scripts/ensure-chromium.mjs). Without it the tests skip, saying why.
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { type Comparison, compareRuns, TABLE_HEADER } from '../../ts/report/compare.js';
import { preferenceLabel, writeComparisonReport } from '../../ts/report/html.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'eval');
/** Where the screenshot goes (gitignored). */
const OUTPUT = join(ROOT, 'test-output');

const isExecutable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The browser (as scripts/ensure-chromium.mjs finds it), or why there is none. */
function findChromium(): { path: string } | { why: string } {
  const named = process.env.MOALIGN_CHROMIUM;
  if (named) return isExecutable(named) ? { path: named } : { why: `MOALIGN_CHROMIUM=${named} is not an executable file` };
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && isExecutable(join(dir, name))) return { path: join(dir, name) };
  }
  return { why: "no chromium: neither chromium nor chromium-browser is on PATH and MOALIGN_CHROMIUM is not set (npm ci installs Debian's chromium package when run as root or with passwordless sudo; see scripts/ensure-chromium.mjs)" };
}

const found = findChromium();
if ('why' in found) console.warn(`report browser test skipped: ${found.why}`);

describe('the comparison report in headless chromium', () => {
  let dir: string;
  let file: string;
  let comparison: Comparison;
  let browser: Browser | undefined;
  let page: Page;
  const requests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if ('why' in found) return;
    dir = mkdtempSync(join(tmpdir(), 'moalign-report-browser-'));
    file = join(dir, 'report.html');
    comparison = compareRuns([join(FIX, 'run-a'), join(FIX, 'run-b')]);
    await writeComparisonReport(file, comparison);
    // root in CI: Chromium's sandbox needs user namespaces it may not have there
    browser = await chromium.launch({ executablePath: found.path, headless: true, args: ['--no-sandbox'], timeout: 60_000 });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Skips the test (with the reason) when there is no browser. */
  const needBrowser = (ctx: TestContext) => {
    if ('why' in found) ctx.skip(found.why);
  };

  it('loads the file alone: no other request, no script error', (ctx) => {
    needBrowser(ctx);
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(pageErrors).toEqual([]);
  });

  it('shows the metrics table: one row per method, numbers in the HV column', async (ctx) => {
    needBrowser(ctx);
    const table = page.locator('table#metrics');
    expect(await table.count()).toBe(1);
    expect(await table.isVisible()).toBe(true);
    const headers = (await table.locator('thead th').allTextContents()).map((t) => t.trim());
    expect(headers.slice(0, TABLE_HEADER.length)).toEqual(TABLE_HEADER);
    const hv = headers.indexOf('HV ↑');
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(comparison.runs.length);
    for (const [i, run] of comparison.runs.entries()) {
      const row = rows.nth(i);
      expect(await row.getAttribute('data-series')).toBe(run.name);
      const cells = row.locator('td');
      expect(await cells.nth(0).textContent()).toContain(run.name);
      const text = ((await cells.nth(hv).textContent()) ?? '').trim();
      expect(text).toMatch(/^-?\d+\.\d{4}$/);
      expect(Number(text)).toBeCloseTo(run.metrics.hypervolume, 4);
      const box = await row.boundingBox();
      expect(box && box.width > 0 && box.height > 0).toBe(true);
    }
  });

  it("draws every method's front: a line and a marker per preference, with its legend", async (ctx) => {
    needBrowser(ctx);
    const svg = page.locator('svg#fronts');
    expect(await svg.count()).toBe(1);
    const area = await svg.boundingBox();
    expect(area && area.width > 100 && area.height > 100).toBe(true);
    if (!area) return;
    const inside = (b: { x: number; y: number; width: number; height: number }) =>
      b.x >= area.x - 1 && b.y >= area.y - 1 && b.x + b.width <= area.x + area.width + 1 && b.y + b.height <= area.y + area.height + 1;
    // two objectives: one panel
    expect(comparison.objectives).toHaveLength(2);
    for (const run of comparison.runs) {
      const n = run.record.points.length;
      const series = svg.locator(`g.series[data-series=${JSON.stringify(run.name)}]`);
      expect(await series.count()).toBe(1);
      // the line: as many vertices as the method has preferences (as the browser parsed them)
      const line = series.locator('polyline.line');
      expect(await line.count()).toBe(1);
      expect(await line.evaluate((el) => (el as unknown as { points: { numberOfItems: number } }).points.numberOfItems)).toBe(n);
      const lineBox = await line.boundingBox();
      expect(lineBox && lineBox.width + lineBox.height > 0).toBe(true);
      if (lineBox) expect(inside(lineBox)).toBe(true);
      // its points, each drawn with a size, inside the plot
      const markers = series.locator('g.markers circle');
      expect(await markers.count()).toBe(n);
      for (let i = 0; i < n; i++) {
        const box = await markers.nth(i).boundingBox();
        expect(box && box.width > 0 && box.height > 0).toBe(true);
        if (box) expect(inside(box)).toBe(true);
      }
      // the legend names it
      expect(await svg.locator('text', { hasText: run.name }).count()).toBeGreaterThan(0);
    }
    // two methods, two different lines
    const points = await svg.locator('g.series polyline.line').evaluateAll((els) => els.map((el) => el.getAttribute('points')));
    expect(new Set(points).size).toBe(comparison.runs.length);
  });

  it('labels every point of every front with its preference', async (ctx) => {
    needBrowser(ctx);
    for (const run of comparison.runs) {
      const labels = page.locator(`svg#fronts g.series[data-series=${JSON.stringify(run.name)}] g.labels text`);
      expect(await labels.allTextContents()).toEqual(run.record.points.map((p) => preferenceLabel(p.preference)));
      for (let i = 0; i < (await labels.count()); i++) {
        const box = await labels.nth(i).boundingBox();
        expect(box && box.width > 0 && box.height > 0).toBe(true);
      }
    }
    expect(await page.locator('svg#fronts g.labels text', { hasText: '0.5,0.5' }).count()).toBe(comparison.runs.length);
  });

  it('saves a full-page screenshot into test-output/report.png', async (ctx) => {
    needBrowser(ctx);
    mkdirSync(OUTPUT, { recursive: true });
    const png = join(OUTPUT, 'report.png');
    rmSync(png, { force: true });
    await page.screenshot({ path: png, fullPage: true });
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
    // the whole page: as wide as the viewport, taller than it (the report scrolls)
    expect(bytes.readUInt32BE(16)).toBe(1280);
    expect(bytes.readUInt32BE(20)).toBeGreaterThan(900);
    expect(bytes.length).toBeGreaterThan(10_000);
  });
});
