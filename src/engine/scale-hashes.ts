/**
 * The scale path's hashes file (`hashes.bin` beside the stored vectors): one 8-byte text hash per item, the hash of
 * the text its stored vector row was embedded from. A row whose hash is not the catalog's current one is stale (the
 * item's text changed, or no row was stored): the engine embeds it again or reads it from a newer shard.
 * Split from engine/scale.ts.
 */
import type { SyncFile } from '../storage/opfs-vectors';
import { ColumnsCatalog, type EngineCatalog } from './catalog-scale';

export const HASHES_FILE = 'hashes.bin';

/** Writes a 16-hex-digit text hash as its 8 bytes at `at`. */
export function hashBytes(hash: string, out: Uint8Array, at: number): void {
  for (let i = 0; i < 8; i++) out[at + i] = Number.parseInt(hash.slice(2 * i, 2 * i + 2), 16) || 0;
}

function sameHash(bytes: Uint8Array, at: number, hash: string): boolean {
  for (let i = 0; i < 8; i++) if (bytes[at + i] !== (Number.parseInt(hash.slice(2 * i, 2 * i + 2), 16) || 0)) return false;
  return true;
}

/**
 * 0 in `stale` where item i's 8 bytes are the same in `a` and `b`, 1 elsewhere; two 32-bit words an item (8 MB at 1M
 * items took 170 ms a byte at a time in Chromium, stop 35). Both start at a multiple of 4 (a fresh array; the
 * columns' hashes, CatalogColumns refuses a payload that does not).
 */
function compareWords(a: Uint8Array, b: Uint8Array, stale: Uint8Array): void {
  const x = new Uint32Array(a.buffer, a.byteOffset, 2 * stale.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, 2 * stale.length);
  for (let i = 0; i < stale.length; i++) stale[i] = x[2 * i] === y[2 * i] && x[2 * i + 1] === y[2 * i + 1] ? 0 : 1;
}

/**
 * The hashes file's bytes for `count` items (8 each). The file is emptied when the vector store was rebuilt, and
 * sized to the catalog. Read on a returning visit while the catalog's columns are still being read.
 */
export function readStoredHashes(hashes: SyncFile, count: number, rebuilt: boolean): Uint8Array {
  if (rebuilt) hashes.truncate(0);
  if (hashes.getSize() !== count * 8) hashes.truncate(count * 8);
  const stored = new Uint8Array(count * 8);
  hashes.read(stored, { at: 0 });
  return stored;
}

/** Which items' stored rows are stale (1) or current (0): the stored hashes (`readStoredHashes`) against the catalog's texts. */
export function compareStoredHashes(catalog: EngineCatalog, stored: Uint8Array): Uint8Array {
  const stale = new Uint8Array(catalog.size);
  // A columns catalog's hashes are bytes already: compared as words (no million strings on a returning visit).
  if (catalog instanceof ColumnsCatalog) compareWords(stored, catalog.columns.hashBytes, stale);
  else for (let i = 0; i < catalog.size; i++) stale[i] = sameHash(stored, i * 8, catalog.textHash(i)) ? 0 : 1;
  return stale;
}

/** Which items' stored rows are stale (1) or current (0): the hashes file against the catalog's texts. */
export function staleRows(catalog: EngineCatalog, hashes: SyncFile, rebuilt: boolean): Uint8Array {
  return compareStoredHashes(catalog, readStoredHashes(hashes, catalog.size, rebuilt));
}
