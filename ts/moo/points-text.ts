// The plain-text point format of `moalign hv` and `moalign pareto`: one point per line, numbers
// separated by commas, tabs or spaces; in batch mode a blank line (or several) ends a set.
// Lines starting with '#' are comments. Errors name the 1-based line (and column).

export interface PointsText {
  /** One entry per set (a single set unless `batch`); each a list of rows. */
  sets: number[][][];
  /** Number of objectives (0 when there are no points at all). */
  m: number;
}

export class PointsTextError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
    this.name = 'PointsTextError';
  }
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(inf|infinity|nan)$/i;

/** Parses one number the way the point format allows: decimal notation only, finite. */
export function parseNumber(token: string, where: string): number {
  if (DECIMAL.test(token)) {
    const v = Number(token);
    if (Number.isFinite(v)) return v;
    throw new RangeError(`${where}: '${token}' overflows a double; every value must be a finite number`);
  }
  if (NON_FINITE.test(token)) throw new RangeError(`${where}: '${token}' is not a finite number; every value must be finite`);
  throw new RangeError(`${where}: '${token}' is not a number`);
}

/** Comma-separated numbers, e.g. the `--ref` option. */
export function parseNumberList(text: string, what: string): number[] {
  const tokens = text.trim().split(/\s*,\s*|\s+/);
  return tokens.map((t, i) => parseNumber(t, `${what}, value ${i + 1}`));
}

export function parsePointsText(text: string, opts: { batch?: boolean } = {}): PointsText {
  const sets: number[][][] = [[]];
  let m = 0;
  let firstLine = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line.startsWith('#')) continue;
    if (line === '') {
      if (opts.batch && sets[sets.length - 1].length > 0) sets.push([]);
      continue;
    }
    const row = line.split(/\s*,\s*|\s+/).map((token, j) => {
      try {
        return parseNumber(token, `line ${lineNo}, column ${j + 1}`);
      } catch (err) {
        throw new PointsTextError((err as Error).message, lineNo);
      }
    });
    if (m === 0) {
      m = row.length;
      firstLine = lineNo;
    } else if (row.length !== m) {
      throw new PointsTextError(`line ${lineNo} has ${row.length} values but line ${firstLine} has ${m}; every point needs one value per objective`, lineNo);
    }
    sets[sets.length - 1].push(row);
  }
  // A trailing separator opens no set.
  if (sets.length > 1 && sets[sets.length - 1].length === 0) sets.pop();
  return { sets, m };
}
