// The comparison report: one self-contained HTML page (inline CSS and SVG, nothing fetched) with
// the table, every method's front on one plot (pairwise panels for three or more objectives), the
// collapse per preference, the task's pool, training curves, and sample responses side by side.
import type { EvalGeneration } from '../eval/evaluate.js';
import { writeTextAtomic } from '../util/atomic-file.js';
import { type Comparison, comparisonRows, normalisationNote, readReportExtras, type ReportExtras, TABLE_HEADER, tableCells } from './compare.js';
import { chartGrid, type ChartOptions, escapeXml } from './svg.js';

/** One colour per method (Tableau 10), reused after ten. */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const colorOf = (i: number) => PALETTE[i % PALETTE.length];

const CSS = `
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 0.9em; } .warn { color: #a33; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; }
.rewards { color: #555; font-size: 0.85em; } .collapsed { color: #a33; font-size: 0.85em; }
svg { max-width: 100%; height: auto; }
details { margin: 0.4em 0; } summary { cursor: pointer; font-weight: 600; }
`;

/** "0.3,0.7": a preference as the plot labels it (two decimals, so thirds read 0.33). */
export function preferenceLabel(p: readonly number[]): string {
  return p.map((x) => String(Number(x.toFixed(2)))).join(',');
}
const preferenceKey = (p: readonly number[]) => p.map((x) => x.toFixed(6)).join(',');
const h = escapeXml;

/** The report page. */
export function comparisonReportHtml(c: Comparison, extras: ReportExtras): string {
  const sections = [
    `<h1>moalign comparison: ${c.runs.map((r) => h(r.name)).join(' vs ')}</h1>`,
    `<p class="note">Objectives: ${c.objectives.map(h).join(', ')} (all maximised). ${c.runs.length} runs; generated ${h(new Date().toISOString())}.</p>`,
    ...c.warnings.map((w) => `<p class="warn">Warning: ${h(w)}</p>`),
    '<h2>Metrics</h2>',
    metricsTable(c),
    `<p class="note">${h(normalisationNote(c))}. HV ↑ hypervolume; IP ↑ mean inner product of each preference with its point; sparsity ↓ (PGMORL) and spacing ↓ (LibMOON) of the front; CR% ↓ share of collapsed responses (too short, repeated 3-grams or a repeated sentence).</p>`,
    '<h2>Fronts</h2>',
    frontsSvg(c),
    '<p class="note">Each point is one preference ω (labelled), at the mean raw rewards of its policy over the test prompts; each method\'s points are joined in preference order.</p>',
    '<h2>Collapse per preference</h2>',
    collapseTable(c),
  ];
  if (extras.tasks.length > 0) {
    sections.push('<h2>Task pool</h2>');
    for (const t of extras.tasks) sections.push(`<p class="note">${h(t.dir)}</p>`, inlineSvg(t.svg));
  }
  const curves = curvesSvg(c, extras);
  if (curves) sections.push('<h2>Training curves</h2>', curves);
  sections.push('<h2>Sample responses</h2>', samples(c, extras));
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>moalign comparison: ${c.runs.map((r) => h(r.name)).join(' vs ')}</title>`,
    `<style>${CSS}</style></head><body>`,
    ...sections,
    '</body></html>',
    '',
  ].join('\n');
}

function metricsTable(c: Comparison): string {
  const rows = comparisonRows(c).map((row, i) => {
    const [name, ...cells] = tableCells(row);
    return `<tr data-series="${h(row.method)}"><td><span class="swatch" style="background:${colorOf(i)}"></span>${h(name)}<br><span class="note">${h(row.dir)}</span></td>${cells.map((v) => `<td class="num">${h(v)}</td>`).join('')}<td class="num">${row.points}</td></tr>`;
  });
  return `<table id="metrics"><thead><tr>${[...TABLE_HEADER, 'points'].map((x) => `<th>${h(x)}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** Every method's front, one panel per pair of objectives (raw mean rewards). */
function frontsSvg(c: Comparison): string {
  const m = c.objectives.length;
  if (m < 2) return '<p class="note">One objective: no front to draw.</p>';
  const pairs: [number, number][] = [];
  for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) pairs.push([a, b]);
  const charts: ChartOptions[] = pairs.map(([a, b]) => ({
    title: m > 2 ? `${c.objectives[a]} vs ${c.objectives[b]}` : 'Learned fronts',
    xLabel: `${c.objectives[a]} (mean reward)`,
    yLabel: `${c.objectives[b]} (mean reward)`,
    width: m > 2 ? 480 : 720,
    height: m > 2 ? 400 : 520,
    series: c.runs.map((r, i) => ({
      name: r.name,
      color: colorOf(i),
      line: true,
      markers: true,
      radius: 3.5,
      opacity: 0.9,
      points: r.record.points.map((p) => [p.mean[a], p.mean[b]] as const),
      labels: r.record.points.map((p) => preferenceLabel(p.preference)),
    })),
  }));
  return inlineSvg(chartGrid(charts, Math.min(3, charts.length), { id: 'fronts' }));
}

/** The preferences of every run, in order of first appearance. */
function allPreferences(c: Comparison): number[][] {
  const seen = new Map<string, number[]>();
  for (const r of c.runs) for (const p of r.record.points) if (!seen.has(preferenceKey(p.preference))) seen.set(preferenceKey(p.preference), p.preference);
  return [...seen.values()];
}

function collapseTable(c: Comparison): string {
  const head = `<tr><th>ω</th>${c.runs.map((r) => `<th>${h(r.name)}</th>`).join('')}</tr>`;
  const rows = allPreferences(c).map((p) => {
    const cells = c.runs.map((r) => {
      const at = r.record.perPreference.find((x) => preferenceKey(x.preference) === preferenceKey(p));
      return `<td class="num">${at ? `${at.collapse.percent.toFixed(1)}% <span class="note">(${at.collapse.collapsed}/${at.collapse.responses})</span>` : '-'}</td>`;
    });
    return `<tr><td>(${h(preferenceLabel(p).replaceAll(',', ', '))})</td>${cells.join('')}</tr>`;
  });
  const pooled = `<tr><th>all</th>${c.runs.map((r) => `<th class="num">${r.record.collapse.percent.toFixed(1)}%</th>`).join('')}</tr>`;
  return `<table><thead>${head}</thead><tbody>\n${rows.join('\n')}\n${pooled}</tbody></table>`;
}

function curvesSvg(c: Comparison, extras: ReportExtras): string | undefined {
  const charts: ChartOptions[] = [];
  c.runs.forEach((r, i) => {
    const curves = extras.curves[i]?.filter((x) => x.losses.length > 0);
    if (!curves || curves.length === 0) return;
    charts.push({
      title: `${r.name}: training loss`,
      xLabel: 'step',
      yLabel: 'loss',
      series: curves.map((x, k) => ({ name: x.name, color: colorOf(k), line: true, points: x.losses.map((l, s) => [s + 1, l] as const) })),
    });
  });
  return charts.length === 0 ? undefined : inlineSvg(chartGrid(charts, Math.min(2, charts.length)));
}

/** A few prompts per preference, each answered by every method, side by side. */
function samples(c: Comparison, extras: ReportExtras): string {
  if (extras.generations.every((g) => g.length === 0)) return '<p class="note">No generations found (eval/generations.jsonl).</p>';
  const out: string[] = [];
  for (const [k, p] of allPreferences(c).entries()) {
    const key = preferenceKey(p);
    const byRun = extras.generations.map((gens) => new Map(gens.filter((g) => preferenceKey(g.preference) === key).map((g) => [g.promptId, g])));
    const present = byRun.filter((m) => m.size > 0);
    if (present.length === 0) continue;
    const first = [...present[0].keys()];
    const shared = first.filter((id) => present.every((m) => m.has(id)));
    const ids = (shared.length > 0 ? shared : first).slice(0, extras.samplesPerPreference);
    const head = `<tr><th>prompt</th>${c.runs.map((r) => `<th>${h(r.name)}</th>`).join('')}</tr>`;
    const rows = ids.map((id) => {
      const any = present.find((m) => m.has(id))?.get(id) as EvalGeneration;
      const prompt = `<td>${h(any.prompt)}${any.reference !== undefined ? `<br><span class="note">reference: ${h(any.reference)}</span>` : ''}</td>`;
      return `<tr>${prompt}${byRun.map((m) => responseCell(m.get(id), c.objectives)).join('')}</tr>`;
    });
    out.push(`<details${k === 0 ? ' open' : ''}><summary>ω = (${h(preferenceLabel(p).replaceAll(',', ', '))})</summary><table><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table></details>`);
  }
  return out.join('\n');
}

function responseCell(g: EvalGeneration | undefined, objectives: readonly string[]): string {
  if (!g) return '<td class="note">-</td>';
  const rewards = objectives.map((o) => `${h(o)} ${Number(g.rewards[o]?.toPrecision(3))}`).join(' · ');
  const collapsed = g.collapsed ? `<br><span class="collapsed">collapsed (${h(g.collapsed)})</span>` : '';
  return `<td>${g.response === '' ? '<span class="note">(empty)</span>' : h(g.response)}<br><span class="rewards">${rewards}</span>${collapsed}</td>`;
}

/** An SVG document as inline HTML: any XML prolog or doctype dropped. */
function inlineSvg(svg: string): string {
  return svg.replace(/^\s*<\?xml[^>]*\?>\s*/u, '').replace(/^\s*<!DOCTYPE[^>]*>\s*/iu, '');
}

/** Writes the self-contained HTML report of a comparison (reading the runs' generations, training
 *  curves and task pictures), atomically. */
export async function writeComparisonReport(file: string, c: Comparison, options: { samplesPerPreference?: number } = {}): Promise<void> {
  await writeTextAtomic(file, comparisonReportHtml(c, await readReportExtras(c, options)));
}
