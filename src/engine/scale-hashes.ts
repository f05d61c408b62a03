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

function sameBytes(a: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let k = at; k < at + 8; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Which items' stored rows are stale (1) or current (0): the hashes file against the catalog's texts. The file is
 * emptied when the vector store was rebuilt, and sized to the catalog.
 */
export function staleRows(catalog: EngineCatalog, hashes: SyncFile, rebuilt: boolean): Uint8Array {
  if (rebuilt) hashes.truncate(0);
  if (hashes.getSize() !== catalog.size * 8) hashes.truncate(catalog.size * 8);
  const stored = new Uint8Array(catalog.size * 8);
  hashes.read(stored, { at: 0 });
  const stale = new Uint8Array(catalog.size);
  // A columns catalog's hashes are bytes already: compared as bytes (no million strings on a returning visit).
  const current = catalog instanceof ColumnsCatalog ? catalog.columns.hashBytes : undefined;
  for (let i = 0; i < catalog.size; i++) stale[i] = (current ? sameBytes(stored, current, i * 8) : sameHash(stored, i * 8, catalog.textHash(i))) ? 0 : 1;
  return stale;
}
