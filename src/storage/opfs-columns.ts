/**
 * A large catalog's columns file kept on the device (issue 21): 57 MB at 1,000,000 items, checked whole
 * once (core/catalog-columns decodeColumns: SHA-256, every id and title) when it was downloaded, then
 * kept here so that a returning visit reads it from disk instead of the network and does not hash it
 * again (decodeKeptColumns checks the header against the record below and the values' shape).
 *
 * Files, in the directory `columnsDirectory` (under `vectors/`, so that erase removes them with the vectors):
 *   columns-<key>.bin   the publisher's bytes, as downloaded
 *   columns-<key>.json  the record (KeptColumns): the URL, length, SHA-256 and fingerprint; written
 *                       after the bytes and flushed, so a record names only bytes that were written whole
 * `<key>` is a hash of the columns URL: one kept file per catalog URL, replaced when the catalog changes.
 * Handles are opened, used and closed at once (another tab may want the file next).
 */
import { columnsHeaderEnd, columnsTitlesAt, COLUMNS_PREFIX_BYTES, type KeptColumnsRecord } from '../core/catalog-columns';
import type { PendingTitles } from '../core/catalog-columns-table';
import { textHash } from '../core/hash';
import type { ListedFile } from './opfs-listing';
import type { SyncDirectory, SyncFile } from './opfs-vectors';

export const columnsDirectory = ['vectors', 'columns'];

export interface KeptColumns extends KeptColumnsRecord {
  version: 1;
  url: string;
}

// The URL's hash (core/hash.ts, hex digits): a file name for any URL; the record names the URL itself.
const bytesName = (url: string) => `columns-${textHash(url)}.bin`;
const recordName = (url: string) => `columns-${textHash(url)}.json`;

function parseRecord(bytes: Uint8Array, url: string): KeptColumns | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<KeptColumns> | null;
    if (value?.version !== 1 || value.url !== url) return undefined;
    if (typeof value.payloadSha256 !== 'string' || typeof value.catalogFingerprint !== 'string') return undefined;
    if (!Number.isInteger(value.bytes) || value.bytes! <= 0) return undefined;
    const itemCount = Number.isInteger(value.itemCount) && value.itemCount! > 0 ? { itemCount: value.itemCount! } : {};
    return { version: 1, url, payloadSha256: value.payloadSha256, catalogFingerprint: value.catalogFingerprint, bytes: value.bytes!, ...itemCount };
  } catch {
    return undefined;
  }
}

/** The record kept for `url`; 'none' when there is no record, undefined when it does not parse or names another URL. */
async function readRecord(dir: SyncDirectory, url: string): Promise<KeptColumns | 'none' | undefined> {
  const recordFile = await dir.open(recordName(url), false);
  if (!recordFile) return 'none';
  return withFile(recordFile, (file) => {
    const bytes = new Uint8Array(file.getSize());
    file.read(bytes, { at: 0 });
    return parseRecord(bytes, url);
  });
}

function withFile<T>(file: SyncFile, use: (file: SyncFile) => T): T {
  try {
    return use(file);
  } finally {
    file.close();
  }
}

/** The columns kept for `url`: the record and the file's bytes (from offset 0 of their own buffer), or undefined. */
export async function readKeptColumns(dir: SyncDirectory, url: string): Promise<{ record: KeptColumns; bytes: Uint8Array<ArrayBuffer> } | undefined> {
  const record = await readRecord(dir, url);
  if (record === 'none') return undefined;
  const bytes = record && (await readData(dir, bytesName(url), record.bytes));
  if (!bytes) {
    await removeKeptColumns(dir, url);
    return undefined;
  }
  return { record, bytes };
}

/**
 * The longest the sync handle on a kept file may take to open before its titles are read through the File instead
 * (ms). An open answers in 1–5 ms; Chromium's open that never answers was seen for a `.part` (docs/scale.md, stop 35).
 */
export const TITLES_OPEN_MS = 200;
/** The titles are read after the first feed in slices of this many bytes, the worker's messages taken between them. */
const TITLE_SLICE_BYTES = 4 * 1024 * 1024;

/**
 * A kept file's titles section while a returning visit shows its first feed: a sync handle on the file (one title
 * read at a time for the feed's cards), released by `readInSlices` or `close`.
 */
export interface KeptTitles extends PendingTitles {
  /** The whole section in slices of TITLE_SLICE_BYTES with `pause` between them (stopped early when `wanted` says no); the handle closed after. */
  readInSlices(pause: () => Promise<void>, wanted: () => boolean): Promise<Uint8Array | undefined>;
  close(): void;
}

/**
 * The columns kept for `url` read in two parts (issue 21, a returning visit at 1M items: 24 of the 57 MB are titles,
 * and a first feed shows 20 of them): the file's bytes from offset 0 up to where its titles start, read through
 * `file` (a File: off the worker's thread), then a sync handle on it for the titles (`KeptTitles`), whose whole
 * section is read after the feed. Where that handle does not open within `openMs` (another tab holds the file, an
 * open that does not answer) the titles are read through the File now, as `titles` bytes. Undefined when none are
 * kept or the file is not the length its record says (then forgotten), as `readKeptColumns`; 'whole' where the
 * header cannot be read from the first bytes (the caller reads the file whole, and its check refuses it).
 */
export async function readKeptColumnsInParts(
  dir: SyncDirectory,
  url: string,
  file: (name: string) => Promise<ListedFile | undefined>,
  openMs = TITLES_OPEN_MS,
): Promise<{ record: KeptColumns; bytes: Uint8Array<ArrayBuffer>; titles: KeptTitles | Uint8Array } | 'whole' | undefined> {
  const record = await readRecord(dir, url);
  if (record === 'none') return undefined;
  const data = record && (await file(bytesName(url)));
  if (!record || !data || data.size !== record.bytes) {
    await removeKeptColumns(dir, url);
    return undefined;
  }
  const headerEnd = columnsHeaderEnd(await data.read(0, COLUMNS_PREFIX_BYTES));
  let titlesAt: number;
  try {
    if (headerEnd === undefined || headerEnd > record.bytes) return 'whole';
    titlesAt = columnsTitlesAt(await data.read(0, headerEnd), url);
  } catch {
    return 'whole';
  }
  if (titlesAt > record.bytes) return 'whole';
  // From offset 0 of its own buffer (a File's slice read whole): the columns are views of it.
  const bytes = (await data.read(0, titlesAt)) as Uint8Array<ArrayBuffer>;
  const handle = await openWithin(dir, bytesName(url), openMs);
  if (!handle) return { record, bytes, titles: await data.read(titlesAt, record.bytes) };
  return { record, bytes, titles: syncTitles(handle, titlesAt, record.bytes - titlesAt) };
}

/** The file's sync handle, or undefined when it fails or takes longer than `ms` (one that comes later is closed at once). */
async function openWithin(dir: SyncDirectory, name: string, ms: number): Promise<SyncFile | undefined> {
  let late = false;
  const opening = dir.open(name, false).then(
    (handle) => {
      if (late) handle?.close();
      return handle;
    },
    () => undefined,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<undefined>((resolve) => (timer = setTimeout(() => ((late = true), resolve(undefined)), ms)));
  const handle = await Promise.race([opening, limit]);
  clearTimeout(timer);
  return handle;
}

function syncTitles(handle: SyncFile, at: number, length: number): KeptTitles {
  let open = true;
  const read = (start: number, count: number) => {
    if (!open) throw new Error('the kept titles were released');
    const out = new Uint8Array(count);
    if (handle.read(out, { at: at + start }) !== count) throw new Error('the kept titles were cut short');
    return out;
  };
  const close = () => {
    if (open) handle.close();
    open = false;
  };
  return {
    read,
    readAll: () => read(0, length),
    async readInSlices(pause, wanted) {
      try {
        const out = new Uint8Array(length);
        for (let start = 0; start < length; start += TITLE_SLICE_BYTES) {
          if (start > 0) await pause();
          if (!wanted() || !open) return undefined;
          out.set(read(start, Math.min(TITLE_SLICE_BYTES, length - start)), start);
        }
        return out;
      } finally {
        close();
      }
    },
    close,
  };
}

/** The kept file's bytes when it has the length its record says (else cut short: an eviction, a write that did not finish). */
async function readData(dir: SyncDirectory, name: string, length: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  // Read by the browser where it can be (the worker's thread stays free for the database's answers meanwhile).
  if (dir.readWhole) {
    const bytes = await dir.readWhole(name);
    return bytes?.length === length ? bytes : undefined;
  }
  const dataFile = await dir.open(name, false);
  return (
    dataFile &&
    withFile(dataFile, (file) => {
      if (file.getSize() !== length) return undefined;
      const out = new Uint8Array(length);
      return file.read(out, { at: 0 }) === length ? out : undefined;
    })
  );
}

/**
 * Keeps a columns file that was checked whole, given as its parts in order (the header's bytes, then the
 * payload the columns are views of: the download itself need not be held). The record is removed first
 * and written last: a write cut in the middle leaves no record, and the next start downloads the file again.
 */
export async function keepColumns(dir: SyncDirectory, url: string, parts: readonly Uint8Array[], kept: KeptColumnsRecord): Promise<void> {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  if (length !== kept.bytes) throw new RangeError(`${length} bytes to keep, the record says ${kept.bytes}`);
  await dir.remove(recordName(url));
  const data = (await dir.open(bytesName(url), true))!;
  withFile(data, (file) => {
    file.truncate(0);
    let at = 0;
    for (const part of parts) at += file.write(part, { at });
    file.flush();
  });
  await writeRecord(dir, url, kept);
}

/** Writes the record of a kept file: `keepColumns`'s last step. A write cut short leaves a record that does not parse: the next start downloads the file again. */
async function writeRecord(dir: SyncDirectory, url: string, kept: KeptColumnsRecord): Promise<void> {
  const record: KeptColumns = { version: 1, url, ...kept };
  const recordFile = (await dir.open(recordName(url), true))!;
  withFile(recordFile, (file) => {
    file.truncate(0);
    file.write(new TextEncoder().encode(JSON.stringify(record)), { at: 0 });
    file.flush();
  });
}

/** Forgets the columns kept for `url` (damaged, or replaced by a new version of the catalog). */
export async function removeKeptColumns(dir: SyncDirectory, url: string): Promise<void> {
  await dir.remove(recordName(url)).catch(() => undefined);
  await dir.remove(bytesName(url)).catch(() => undefined);
}
