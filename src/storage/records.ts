/**
 * Checks for every record read back from IndexedDB. The database is an input like any file: another
 * version of the app, a browser extension, DevTools or a damaged disk may have written anything there.
 * A record that fails its check is skipped (and counted, so the caller can say so), never trusted and
 * never fatal: one bad record costs that record, not the page. The ranges are core/limits.ts's.
 *
 * Plain checks, not zod: a returning visit reads 10,000 events and megabytes of vectors before its
 * first feed, and these run over all of it.
 */
import { EVENT_KINDS, type EventKind } from '../core/events';
import type { EmbeddingChunk, StoredSettings } from './store';
import { settingValueSchema } from '../core/export-format';
import { firstOutOfRangeWeight, isShowableTime, MAX_EMBEDDING_SCALE } from '../core/limits';

/** The largest width of a cached text vector (the encoders' registry goes to 1024; headroom for more). */
export const MAX_EMBEDDING_DIMENSION = 4096;
/** Longest item id or genre name an event may name (as the export format allows). */
const MAX_ITEM_ID_LENGTH = 200;
/** A stored weight has at most this many dimensions (W is 2-d; headroom as the export format allows). */
const MAX_WEIGHT_RANK = 8;

export interface StoredEventRecord {
  id: number;
  kind: EventKind;
  itemId: string;
  at: number;
}

/** A stored embeddings record, as checkEmbeddingChunk accepts it: the stores' own chunk. */
export type EmbeddingChunkRecord = EmbeddingChunk;

export interface StoredWeightRecord {
  name: string;
  version: number;
  shape: number[];
  values: Float32Array;
  key?: string;
}

const KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** An event as the History panel and the model can use it: a known kind, an id, a time a Date can show. */
export function isValidEventRecord(value: unknown): value is StoredEventRecord {
  if (!isRecord(value)) return false;
  const { id, kind, itemId, at } = value;
  return (
    typeof id === 'number' &&
    Number.isSafeInteger(id) &&
    id > 0 &&
    typeof kind === 'string' &&
    KINDS.has(kind) &&
    typeof itemId === 'string' &&
    itemId.length > 0 &&
    itemId.length <= MAX_ITEM_ID_LENGTH &&
    isShowableTime(at)
  );
}

/** Whether a row's scale decodes to finite values in range (NaN, Infinity and negatives do not). */
const usableScale = (scale: number) => scale >= 0 && scale <= MAX_EMBEDDING_SCALE;

/**
 * An embeddings record checked for its shape and its values. Whole: returned as it is. Some rows with
 * a scale that is NaN, infinite, negative or huge (they would decode to NaN or overflow): a copy
 * without those rows (they are embedded again). Broken in its shape: no chunk. `skippedRows` counts
 * the vectors lost (at least 1 for a broken record, whose row count cannot be trusted).
 */
export function checkEmbeddingChunk(value: unknown): { chunk?: EmbeddingChunkRecord; skippedRows: number } {
  if (!isRecord(value)) return { skippedRows: 1 };
  const { modelId, chunkId, textHashes, dimension, codes, scales } = value;
  const rows = Array.isArray(textHashes) ? textHashes.length : 0;
  const broken = { skippedRows: Math.max(1, rows) };
  if (typeof modelId !== 'string' || typeof chunkId !== 'string') return broken;
  if (!Array.isArray(textHashes) || !textHashes.every((hash) => typeof hash === 'string')) return broken;
  if (typeof dimension !== 'number' || !Number.isInteger(dimension) || dimension <= 0 || dimension > MAX_EMBEDDING_DIMENSION) return broken;
  if (!(codes instanceof Int8Array) || !(scales instanceof Float32Array)) return broken;
  if (codes.length !== rows * dimension || scales.length !== rows) return broken;
  const chunk = value as unknown as EmbeddingChunkRecord;
  let bad = 0;
  for (let row = 0; row < rows; row++) if (!usableScale(scales[row]!)) bad++;
  if (bad === 0) return { chunk, skippedRows: 0 };
  if (bad === rows) return { skippedRows: rows };
  const kept: number[] = [];
  for (let row = 0; row < rows; row++) if (usableScale(scales[row]!)) kept.push(row);
  const keptCodes = new Int8Array(kept.length * dimension);
  kept.forEach((row, k) => keptCodes.set(codes.subarray(row * dimension, (row + 1) * dimension), k * dimension));
  return {
    chunk: {
      modelId,
      chunkId,
      textHashes: kept.map((row) => textHashes[row] as string),
      dimension,
      codes: keptCodes,
      scales: Float32Array.from(kept, (row) => scales[row]!),
    },
    skippedRows: bad,
  };
}

/**
 * Weights whose values the model checks itself as it loads them (HybridModel.checkParams: finite and
 * within ±MAX_ABS_WEIGHT, with their layout). Checked here too, the 10,000 × 32 values of q (twice)
 * would be looped over twice on every returning visit before its first feed: ~5–10 ms cold in a worker.
 */
const CHECKED_BY_THE_MODEL = ['local/', 'global/'];

/**
 * A stored weight: a name, a version, a shape whose product is the number of values (a Float32Array).
 * Values: derived caches (names starting with `cachePrefix`) finite; the shared parameters as the model
 * loads them (above); every other weight (the taste vector u) finite and within ±MAX_ABS_WEIGHT here.
 */
export function isValidWeightRecord(value: unknown, cachePrefix = 'cache/'): value is StoredWeightRecord {
  if (!isRecord(value)) return false;
  const { name, version, shape, values, key } = value;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) return false;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return false;
  if (!Array.isArray(shape) || shape.length > MAX_WEIGHT_RANK || !shape.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) return false;
  if (!(values instanceof Float32Array) || values.length !== shape.reduce((a: number, b: number) => a * b, 1)) return false;
  if (key !== undefined && typeof key !== 'string') return false;
  if (name.startsWith(cachePrefix)) {
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
    return true;
  }
  if (CHECKED_BY_THE_MODEL.some((prefix) => name.startsWith(prefix))) return true;
  return firstOutOfRangeWeight(values) < 0;
}

/** Setting names as the export format allows them: never "__proto__" (a leading letter, no underscores first). */
const SETTING_NAME = /^[A-Za-z][\w.-]{0,99}$/;

/**
 * The settings read back, kept only where the name and the value are what the app writes (flat scalars
 * or lists of them, numbers finite): the rest is left out and named. Own properties only: no stored
 * name can reach a prototype.
 */
export function checkSettings(keys: readonly unknown[], values: readonly unknown[]): { settings: StoredSettings; skipped: string[] } {
  const settings: StoredSettings = {};
  const skipped: string[] = [];
  keys.forEach((key, i) => {
    if (typeof key === 'string' && SETTING_NAME.test(key) && settingValueSchema.safeParse(values[i]).success) {
      Object.defineProperty(settings, key, { value: values[i], enumerable: true, writable: true, configurable: true });
    } else {
      skipped.push(String(key).slice(0, 100));
    }
  });
  return { settings, skipped };
}
