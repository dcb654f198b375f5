// Preference vectors (paretohqd.md §3, §8.1; panacea.md §10): validation, the built-in grids and
// the text forms the CLI takes. A preference ω has one weight per objective, in objective order,
// ω_i ≥ 0 and Σω_i = 1. Grid values are built from integers (i/10, exact thirds, c/H), never by
// repeated float addition, so grid:11 holds exactly the doubles i/10.

/** Largest |Σω − 1| accepted; a valid preference is then divided by its sum. */
export const PREFERENCE_SUM_TOLERANCE = 1e-6;

/** Integer rows over a common denominator, as preferences. */
function fromCounts(rows: readonly (readonly number[])[], denominator: number): number[][] {
  return rows.map((row) => row.map((c) => c / denominator));
}

/** The ParetoHqD paper's 3-objective grid (Fig. 5 caption), 11 points, with exact thirds. */
export const PARETOHQD_GRID: readonly (readonly number[])[] = [
  ...fromCounts(
    [
      [0, 0, 10],
      [0, 10, 0],
      [1, 1, 8],
      [1, 8, 1],
      [2, 2, 6],
      [2, 6, 2],
      [4, 4, 2],
      [6, 2, 2],
      [8, 1, 1],
    ],
    10,
  ),
  [1 / 3, 1 / 3, 1 / 3],
  [1, 0, 0],
];

/** RiC's 13-point 3-objective grid (paretohqd.md §8.1), with exact thirds. */
export const RIC13_GRID: readonly (readonly number[])[] = [
  ...fromCounts(
    [
      [0, 0, 10],
      [0, 10, 0],
      [1, 1, 8],
      [1, 8, 1],
      [2, 2, 6],
      [2, 4, 4],
      [2, 6, 2],
    ],
    10,
  ),
  [1 / 3, 1 / 3, 1 / 3],
  ...fromCounts(
    [
      [4, 4, 2],
      [4, 2, 4],
      [6, 2, 2],
      [8, 1, 1],
      [10, 0, 0],
    ],
    10,
  ),
];

/** grid:N for two objectives: ω = (i/(N−1), (N−1−i)/(N−1)), i = 0 … N−1, both from integers (so
 *  grid:11 holds (0.8, 0.2), where 1 − 0.8 would give 0.19999999999999996). grid:11 is the paper's. */
export function twoObjectiveGrid(points: number): number[][] {
  if (!Number.isSafeInteger(points) || points < 2) throw new RangeError(`grid:N needs an integer N >= 2, got ${points}`);
  return Array.from({ length: points }, (_, i) => [i / (points - 1), (points - 1 - i) / (points - 1)]);
}

/** Number of Das–Dennis points, C(H + m − 1, m − 1). */
export function dasDennisCount(m: number, h: number): number {
  let c = 1;
  for (let k = 1; k <= m - 1; k++) c = (c * (h + k)) / k; // exact: each partial product is C(h + k, k)
  return Math.round(c);
}

/**
 * The Das–Dennis simplex lattice: every ω with entries in {0, 1/H, …, 1} summing to 1, each
 * entry c/H for integers c summing to H. C(H + m − 1, m − 1) points, first entry ascending.
 */
export function dasDennis(m: number, h: number): number[][] {
  if (!Number.isSafeInteger(m) || m < 2) throw new RangeError(`dasDennis needs m >= 2 objectives, got ${m}`);
  if (!Number.isSafeInteger(h) || h < 1) throw new RangeError(`dasDennis:H needs an integer H >= 1, got ${h}`);
  if (dasDennisCount(m, h) > 100_000) throw new RangeError(`dasDennis:${h} in ${m} objectives has ${dasDennisCount(m, h)} points; at most 100000 are allowed`);
  const out: number[][] = [];
  const counts = new Array<number>(m).fill(0);
  const fill = (i: number, left: number): void => {
    if (i === m - 1) {
      counts[i] = left;
      out.push(counts.map((c) => c / h));
      return;
    }
    for (let c = 0; c <= left; c++) {
      counts[i] = c;
      fill(i + 1, left - c);
    }
  };
  fill(0, h);
  return out;
}

/**
 * The default grid for m objectives: grid:11 for 2, the ParetoHqD grid for 3, and beyond that
 * the Das–Dennis lattice with the largest H that keeps at most 64 points (panacea.md §10).
 */
export function defaultPreferences(m: number): number[][] {
  if (m === 2) return twoObjectiveGrid(11);
  if (m === 3) return PARETOHQD_GRID.map((w) => [...w]);
  if (!Number.isSafeInteger(m) || m < 2) throw new RangeError(`preferences need m >= 2 objectives, got ${m}`);
  let h = 1;
  while (dasDennisCount(m, h + 1) <= 64) h++;
  return dasDennis(m, h);
}

/** A preference for messages: "(0.1, 0.9)", thirds as 0.333. */
export function formatPreference(w: ArrayLike<number>): string {
  const cell = (v: number) => {
    const two = Number(v.toFixed(2));
    return String(Math.abs(v - two) < 1e-9 ? two : Number(v.toFixed(3)));
  };
  return `(${Array.from(w, cell).join(', ')})`;
}

/**
 * Checks one preference against m objectives and returns it divided by its sum (unchanged when
 * the sum is exactly 1). Errors name it (`name`, e.g. "preference 3") and the problem: a wrong
 * length, a non-finite or negative weight, a sum off 1 by more than 1e-6.
 */
export function checkPreference(w: ArrayLike<number>, m: number, name = 'preference'): number[] {
  const label = `${name} ${formatPreference(w)}`;
  if (w.length !== m) throw new RangeError(`${label} has ${w.length} weight${w.length === 1 ? '' : 's'} but there are ${m} objectives`);
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const v = w[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${label}: weight ${i} is ${String(v)}; weights must be finite numbers`);
    if (v < 0) throw new RangeError(`${label}: weight ${i} is ${v}; weights must be >= 0`);
    sum += v;
  }
  if (!(Math.abs(sum - 1) <= PREFERENCE_SUM_TOLERANCE)) throw new RangeError(`${label} sums to ${sum}, not 1 (tolerance ${PREFERENCE_SUM_TOLERANCE})`);
  return sum === 1 ? Array.from(w) : Array.from(w, (v) => v / sum);
}

/** checkPreference on every row ("preference i", 0-based); at least one row. */
export function checkPreferences(rows: readonly ArrayLike<number>[], m: number): number[][] {
  if (rows.length === 0) throw new RangeError('no preferences: at least one is needed');
  return rows.map((w, i) => checkPreference(w, m, `preference ${i}`));
}

/** A weight in an explicit list: a decimal number or a fraction a/b (so thirds can be exact). */
function parseWeight(text: string, where: string): number {
  const t = text.trim();
  const fraction = /^([^/]+)\/([^/]+)$/.exec(t);
  const value = fraction ? Number(fraction[1]) / Number(fraction[2]) : t === '' ? Number.NaN : Number(t);
  if (!Number.isFinite(value)) throw new RangeError(`${where}: "${t}" is not a number (weights are decimals like 0.25 or fractions like 1/3)`);
  return value;
}

/**
 * Preferences from text, for m objectives:
 * - `grid:N`: N points (i/(N−1), (N−1−i)/(N−1)) for two objectives; grid:11 is the paper's;
 * - `paretohqd`: the paper's 11-point 3-objective grid; `ric13`: RiC's 13-point one;
 * - `dasDennis:H`: the Das–Dennis lattice, any m;
 * - `default`: grid:11 for m = 2, paretohqd for m = 3, Das–Dennis (≤ 64 points) beyond;
 * - an explicit list, rows separated by ';' and weights by ',': "0.2,0.8;0.5,0.5" (fractions
 *   such as 1/3 allowed). Each row is checked and divided by its sum.
 */
export function parsePreferences(spec: string, m: number): number[][] {
  const s = spec.trim();
  const keyword = /^([A-Za-z][A-Za-z0-9]*)(?::(.*))?$/.exec(s);
  if (keyword) {
    const [, name, arg] = keyword;
    const integer = (what: string) => {
      const n = arg === undefined || arg.trim() === '' ? Number.NaN : Number(arg);
      if (!Number.isSafeInteger(n)) throw new RangeError(`preferences "${s}": ${what} must be an integer, got "${arg ?? ''}"`);
      return n;
    };
    const only = (want: number, grid: string) => {
      if (m !== want) throw new RangeError(`preferences "${s}": ${grid} is a ${want}-objective grid but there are ${m} objectives (dasDennis:H works for any number)`);
    };
    switch (name.toLowerCase()) {
      case 'grid':
        only(2, `grid:${arg}`);
        return twoObjectiveGrid(integer('N'));
      case 'paretohqd':
        only(3, 'paretohqd');
        return PARETOHQD_GRID.map((w) => [...w]);
      case 'ric13':
        only(3, 'ric13');
        return RIC13_GRID.map((w) => [...w]);
      case 'dasdennis':
        return dasDennis(m, integer('H'));
      case 'default':
        return defaultPreferences(m);
      default:
        throw new RangeError(`preferences "${s}": unknown grid "${name}"; use grid:N, paretohqd, ric13, dasDennis:H, default or a list like "0.2,0.8;0.5,0.5"`);
    }
  }
  const rows = s
    .split(';')
    .map((row) => row.trim())
    .filter((row) => row !== '');
  if (rows.length === 0) throw new RangeError('preferences: the list is empty');
  return checkPreferences(
    rows.map((row, i) => row.split(',').map((w) => parseWeight(w, `preference ${i}`))),
    m,
  );
}
