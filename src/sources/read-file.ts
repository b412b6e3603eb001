import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

/**
 * How a file is opened: never blocking (a FIFO opens at once instead of waiting for a writer,
 * which would hold a threadpool thread forever) and never becoming the controlling terminal.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/** Why a file could not be read. `size` is set for `too_large` (0 when it grew while being read). */
export class FileReadError extends Error {
  constructor(
    readonly kind: 'not_regular' | 'too_large' | 'missing' | 'unreadable',
    message: string,
    readonly size = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FileReadError';
  }
}

/**
 * Reads a whole file, refusing anything that is not a regular file (a device such as /dev/zero
 * never ends, a FIFO blocks) and reading at most `maxBytes + 1` bytes whatever the file's size says
 * (stat reports 0 for devices, and a file may grow while it is read). The bundle file and every file
 * a bundle names are read this way. Throws FileReadError; its message is the same for the same
 * cause, so two reads of an unchanged problem compare equal.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Uint8Array> {
  let read: Uint8Array | undefined;
  let size = 0;
  try {
    // Checked before opening, so that a device is never even opened, and again on the open file,
    // which is what counts (the path may be replaced between the two).
    if (!(await stat(path)).isFile()) throw notRegularFile();
    const file = await open(path, OPEN_FLAGS);
    try {
      const s = await file.stat();
      if (!s.isFile()) throw notRegularFile();
      size = s.size;
      read = size > maxBytes ? undefined : await readAtMost(file, maxBytes, size);
    } finally {
      await file.close();
    }
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    const code = (e as { code?: unknown }).code;
    const reason = e instanceof Error ? e.message : String(e);
    throw new FileReadError(code === 'ENOENT' ? 'missing' : 'unreadable', reason, 0, { cause: e });
  }
  // Over the limit, by its size or because it grew while it was read.
  if (read === undefined) throw new FileReadError('too_large', size > maxBytes ? `it is ${size} bytes` : 'it grew while it was read', size > maxBytes ? size : 0);
  return read;
}

/** The file's bytes, or undefined once it has more than `maxBytes`. `sizeHint` sizes the first buffer. */
async function readAtMost(file: FileHandle, maxBytes: number, sizeHint: number): Promise<Uint8Array | undefined> {
  // One byte over the limit tells "exactly at the limit" from "over it".
  let buffer = Buffer.allocUnsafe(Math.min(sizeHint, maxBytes) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) return undefined;
      const grown = Buffer.allocUnsafe(Math.min(2 * buffer.length, maxBytes + 1));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
  }
}

function notRegularFile(): FileReadError {
  return new FileReadError('not_regular', 'not a regular file (a device, FIFO, socket or directory)');
}
