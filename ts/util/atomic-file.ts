// Writing files atomically: the content goes to a temporary file in the same folder (so the
// rename cannot cross file systems), is flushed to disk, and is renamed over the target only when
// complete. A reader sees the old file or the whole new one, never half of one; a failed write
// leaves no temporary behind. Every file moalign writes for later runs goes through here.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Options of every writer that may meet an existing file. */
export interface WriteOptions {
  /** Replace `file` if it exists. Default false: an existing file is an error, so a run never
   *  silently destroys an earlier one's output. */
  overwrite?: boolean;
}

function temporaryPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

async function refuseExisting(file: string): Promise<void> {
  const found = await stat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  if (found) throw new Error(`${file} already exists; pass overwrite: true to replace it`);
}

/**
 * Writes `file` atomically: `write` fills the temporary file, which is synced and renamed into
 * place. The existence check runs before and after writing; a file created by someone else in
 * between is replaced only if `overwrite` is set.
 */
export async function writeFileAtomic(file: string, options: WriteOptions, write: (tmp: string) => Promise<void> | void): Promise<void> {
  const overwrite = options.overwrite ?? false;
  if (!overwrite) await refuseExisting(file);
  const tmp = temporaryPath(file);
  try {
    await write(tmp);
    const handle = await open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (!overwrite) await refuseExisting(file);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Replaces `file` with `text` atomically. */
export async function writeTextAtomic(file: string, text: string): Promise<void> {
  await writeFileAtomic(file, { overwrite: true }, (tmp) => writeFile(tmp, text, { flag: 'wx' }));
}

/** The synchronous form of writeTextAtomic, for small files written between native calls. */
export function writeTextAtomicSync(file: string, text: string): void {
  const tmp = temporaryPath(file);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
