// Parquet tables: read one row group at a time (memory bounded by a row group, not the file), and
// written atomically with hyparquet-writer.
//
// Records map to flat columns: one column a text field, and one DOUBLE column `rewards.<name>` per
// objective, so any Parquet tool shows the rewards as ordinary columns. A struct column `rewards`
// (which hyparquet reads as an object) is accepted too.
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { fileWriter, parquetWriteRows } from 'hyparquet-writer';
import { writeFileAtomic, type WriteOptions } from '../util/atomic-file.js';

/** The column that holds objective `name`'s rewards. */
export const rewardColumn = (name: string): string => `rewards.${name}`;
const REWARD_PREFIX = rewardColumn('');

/** A Parquet file opened for reading: its top-level columns, and its rows on demand. */
export interface ParquetTable {
  file: string;
  /** Top-level column names, in file order (a struct column counts once). */
  columns: string[];
  /** Number of rows. */
  rows: number;
  /** The rows as objects holding the given columns, read one row group at a time. `line` is the
   *  1-based row number. */
  read(columns: readonly string[]): AsyncGenerator<{ line: number; value: Record<string, unknown> }>;
}

/** Opens a Parquet file and reads its footer (the schema and the row groups' places). */
export async function openParquet(file: string): Promise<ParquetTable> {
  const buffer: AsyncBuffer = await asyncBufferFromFile(file);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new Error(`${file}: not a Parquet file (${(err as Error).message})`);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  return {
    file,
    columns,
    rows: Number(metadata.num_rows),
    async *read(wanted) {
      let start = 0;
      for (const group of metadata.row_groups) {
        const end = start + Number(group.num_rows);
        const rows = await parquetReadObjects({ file: buffer, metadata, columns: [...wanted], rowStart: start, rowEnd: end });
        for (let k = 0; k < rows.length; k++) yield { line: start + k + 1, value: rows[k] };
        start = end;
      }
    },
  };
}

/**
 * A Parquet row as a JSON-like record: null cells are left out (a missing optional field, or a
 * missing required one that validation then names), and the `rewards.<name>` columns, or a struct
 * column `rewards`, become one `rewards` object in column order.
 */
export function rowToRecord(row: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  let rewards: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(row)) {
    if (value === null || value === undefined) continue;
    if (key === 'rewards' && typeof value === 'object' && !Array.isArray(value)) {
      rewards = { ...rewards };
      for (const [name, r] of Object.entries(value)) if (r !== null && r !== undefined) rewards[name] = r;
    } else if (key.startsWith(REWARD_PREFIX)) {
      (rewards ??= {})[key.slice(REWARD_PREFIX.length)] = value;
    } else {
      record[key] = value;
    }
  }
  if (rewards !== undefined) record.rewards = rewards;
  return record;
}

/** Whether a column holds rewards (`rewards.<name>`, or a struct `rewards`). */
export const isRewardColumn = (name: string): boolean => name === 'rewards' || (name.startsWith(REWARD_PREFIX) && name.length > REWARD_PREFIX.length);

/** A column to write: text (STRING), a double, or a JSON-encoded value. */
export interface ParquetColumn {
  name: string;
  type: 'STRING' | 'DOUBLE' | 'JSON';
  /** Whether cells may be null (an absent optional field). */
  nullable: boolean;
}

/** Options of writeParquetAtomic. */
export interface ParquetWriteOptions extends WriteOptions {
  /** Rows per row group: what a reader holds in memory at once. Default 10,000. */
  rowGroupSize?: number;
}

/**
 * Writes rows (objects keyed by column name; undefined cells are written as null) to a Parquet
 * file, atomically (see writeFileAtomic). The rows are pulled one row group at a time, so a
 * generator source is never held whole.
 */
export async function writeParquetAtomic(
  file: string,
  columns: readonly ParquetColumn[],
  rows: Iterable<Record<string, unknown>> | AsyncIterable<Record<string, unknown>>,
  options: ParquetWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(file, options, async (tmp) => {
    await parquetWriteRows({
      writer: fileWriter(tmp),
      rows,
      rowGroupSize: options.rowGroupSize ?? 10_000,
      // Dictionary encoding keys doubles by SameValueZero, which would turn -0 into 0 (or 0 into
      // -0); plain encoding stores every double bit for bit.
      columns: columns.map((c) => ({ ...c, ...(c.type === 'DOUBLE' ? { encoding: 'PLAIN' as const } : {}) })),
    });
  });
}
