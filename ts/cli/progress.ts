// Progress on stderr for every long CLI step: a cli-progress bar on a terminal, and otherwise (a
// pipe, a CI log) a plain line about every tenth of the way, so logs stay readable.
import { SingleBar } from 'cli-progress';

/** "42s", "3m05s", "1h02m"; "-" when unknown. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

export type ProgressFields = Record<string, string | number>;

export class ProgressBar {
  private bar: SingleBar | undefined;
  private lastLine = -1;
  private stopped = false;

  /**
   * @param label  what is progressing ("train", "sample", ...)
   * @param detail a cli-progress format tail using `fields` names, e.g. "loss {loss} | {tps} tok/s"
   */
  constructor(
    private readonly label: string,
    private readonly detail: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** `value` of `total` done; `fields` fill the detail. ETA: given as fields.eta, else estimated by cli-progress. */
  update(value: number, total: number, fields: ProgressFields = {}): void {
    if (this.stopped) return;
    if (this.stream.isTTY) {
      if (!this.bar) {
        this.bar = new SingleBar({
          format: `${this.label} {bar} {value}/{total} | ${this.detail} | ETA {remaining}`,
          stream: this.stream,
          hideCursor: true,
          barsize: 24,
        });
        this.bar.start(total, value, { remaining: '-', ...fields });
      } else {
        this.bar.setTotal(total);
        this.bar.update(value, { remaining: '-', ...fields });
      }
      return;
    }
    const tenth = Math.floor((10 * value) / Math.max(1, total));
    if (tenth === this.lastLine && value !== total) return;
    this.lastLine = tenth;
    const detail = this.detail.replace(/\{(\w+)\}/g, (_, k: string) => String(fields[k] ?? '-'));
    this.stream.write(`moalign: ${this.label} ${value}/${total} | ${detail} | ETA ${fields.remaining ?? '-'}\n`);
  }

  stop(): void {
    this.stopped = true;
    this.bar?.stop();
    this.bar = undefined;
  }
}
