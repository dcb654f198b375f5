// Helpers shared by the benchmark scripts: logging, statistics of timed samples, option parsing,
// the machine's CPU model.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export function log(message: string): void {
  process.stderr.write(`[moalign] ${message}\n`);
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

/** A bad command-line option: reported by its message alone. */
export class OptionError extends Error {}

export function positiveInt(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new OptionError(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

export function cpuModel(): string {
  try {
    const model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1];
    if (model) return model.trim();
  } catch {
    // no /proc: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

export interface Column<R> {
  title: string;
  align: 'left' | 'right';
  cell: (r: R) => string;
}

/** An aligned table that is also Markdown. */
export function markdownTable<R>(rows: R[], columns: Column<R>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((line) => line[i].length)));
  const pad = (v: string, i: number) => (columns[i].align === 'left' ? v.padEnd(widths[i]) : v.padStart(widths[i]));
  const line = (values: string[]) => `| ${values.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (columns[i].align === 'left' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(columns.map((c) => c.title)), rule, ...cells.map(line)].join('\n');
}
