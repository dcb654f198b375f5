// Objective vectors in every form the API accepts, turned into what the native core reads:
// a row-major Float64Array with m columns (no copy when the caller already has one).

/** Points: an array of rows, or a row-major matrix with m columns (n = data.length / m). */
export type Points = readonly (readonly number[])[] | PointMatrix;

export interface PointMatrix {
  data: Float64Array | Float32Array | readonly number[];
  m: number;
}

/** true = minimise every objective; an array = per objective. Default: maximise all. */
export type Minimise = boolean | readonly boolean[];

export interface Matrix {
  data: Float64Array;
  n: number;
  m: number;
}

function isMatrix(points: Points): points is PointMatrix {
  return !Array.isArray(points);
}

/**
 * Row-major float64 view of `points`. `m` is taken from the rows (or the matrix); for an empty
 * array of rows it is `emptyM` (e.g. the reference point's length). Ragged rows are an error.
 */
export function toMatrix(points: Points, what = 'points', emptyM = 0): Matrix {
  if (isMatrix(points)) {
    const { m } = points;
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`${what}: m must be a positive integer, got ${m}`);
    const data = points.data instanceof Float64Array ? points.data : Float64Array.from(points.data);
    if (data.length % m !== 0) throw new RangeError(`${what}: ${data.length} values do not make rows of ${m}`);
    return { data, n: data.length / m, m };
  }
  const rows = points as readonly (readonly number[])[];
  if (rows.length === 0) return { data: new Float64Array(0), n: 0, m: emptyM };
  const m = rows[0].length;
  if (m === 0) throw new RangeError(`${what}: row 0 is empty; points need at least one objective`);
  const data = new Float64Array(rows.length * m);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!row || row.length !== m) {
      throw new RangeError(`${what}: row ${i} has ${row?.length ?? 0} values but row 0 has ${m}; every row needs one value per objective`);
    }
    for (let j = 0; j < m; j++) data[i * m + j] = row[j];
  }
  return { data, n: rows.length, m };
}

/** Per-objective minimise flags for the native core (undefined = maximise all). */
export function minimiseMask(minimise: Minimise | undefined, m: number): Uint8Array | undefined {
  if (minimise === undefined || minimise === false) return undefined;
  if (minimise === true) return new Uint8Array(m).fill(1);
  if (minimise.length !== m) throw new RangeError(`minimise has ${minimise.length} entries but the points have ${m} objectives`);
  return Uint8Array.from(minimise, (b) => (b ? 1 : 0));
}

/** A reference point (or other per-objective vector) as float64, checked for length. */
export function toVector(values: ArrayLike<number>, m: number, what: string): Float64Array {
  if (values.length !== m) throw new RangeError(`${what} has ${values.length} values but the points have ${m} objectives`);
  return values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
}
