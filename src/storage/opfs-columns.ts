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
import type { KeptColumnsRecord } from '../core/catalog-columns';
import { textHash } from '../core/hash';
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

function withFile<T>(file: SyncFile, use: (file: SyncFile) => T): T {
  try {
    return use(file);
  } finally {
    file.close();
  }
}

/** The columns kept for `url`: the record and the file's bytes (from offset 0 of their own buffer), or undefined. */
export async function readKeptColumns(dir: SyncDirectory, url: string): Promise<{ record: KeptColumns; bytes: Uint8Array<ArrayBuffer> } | undefined> {
  const recordFile = await dir.open(recordName(url), false);
  if (!recordFile) return undefined;
  const record = withFile(recordFile, (file) => {
    const bytes = new Uint8Array(file.getSize());
    file.read(bytes, { at: 0 });
    return parseRecord(bytes, url);
  });
  const bytes = record && (await readData(dir, bytesName(url), record.bytes));
  if (!bytes) {
    await removeKeptColumns(dir, url);
    return undefined;
  }
  return { record, bytes };
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
