/**
 * The files of a directory of OPFS with their sizes, for the Privacy panel (issue 21: the catalog's
 * columns kept on the device, storage/opfs-columns.ts). Read through File objects rather than sync access
 * handles, so listing opens nothing another tab or this worker may want next.
 */

export interface ListedFile {
  name: string;
  /** Bytes on disk. */
  size: number;
  /** Bytes [start, end) of the file. */
  read(start: number, end: number): Promise<Uint8Array>;
}

interface IterableDirectory {
  entries(): AsyncIterable<[string, FileSystemHandle]>;
}

/** The files directly in the OPFS directory at `path` (none when it does not exist); a file that cannot be read is left out. */
export async function listOpfsFiles(path: readonly string[]): Promise<ListedFile[]> {
  let dir = await navigator.storage.getDirectory();
  try {
    for (const part of path) dir = await dir.getDirectoryHandle(part);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') return [];
    throw error;
  }
  const files: ListedFile[] = [];
  // entries() is in the DOM's async-iterable library, which this project does not compile against.
  for await (const [name, handle] of (dir as unknown as IterableDirectory).entries()) {
    if (handle.kind !== 'file') continue;
    try {
      const file = await (handle as FileSystemFileHandle).getFile();
      files.push({ name, size: file.size, read: async (start, end) => new Uint8Array(await file.slice(start, end).arrayBuffer()) });
    } catch {
      // Removed meanwhile, or held in a way that refuses a read: not counted this time (the panel measures again).
    }
  }
  return files;
}

/**
 * One file of the OPFS directory at `path`, read through a File (off the worker's thread, no handle held); undefined
 * when it or the directory does not exist. The File is the file as it was when asked for: a later write makes its reads fail.
 */
export async function opfsFile(path: readonly string[], name: string): Promise<ListedFile | undefined> {
  try {
    let dir = await navigator.storage.getDirectory();
    for (const part of path) dir = await dir.getDirectoryHandle(part);
    const file = await (await dir.getFileHandle(name)).getFile();
    return { name, size: file.size, read: async (start, end) => new Uint8Array(await file.slice(start, end).arrayBuffer()) };
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') return undefined;
    throw error;
  }
}

/** The same over files in memory (storage/opfs-vectors.ts memoryDirectory's map): tests, and a browser without OPFS. */
export function listMemoryFiles(files: ReadonlyMap<string, Uint8Array>): ListedFile[] {
  return [...files].map(([name, bytes]) => memoryFile(name, bytes));
}

/** One file in memory as `opfsFile` gives it (a copy of its bytes as they are now). */
export function memoryFile(name: string, bytes: Uint8Array): ListedFile {
  const copy = bytes.slice();
  return { name, size: copy.length, read: async (start, end) => copy.slice(start, end) };
}
