/**
 * Ranges every value from outside is held to (imports, model files, records read back from IndexedDB):
 * not only "a finite number" but one the rest of the app can use. docs/entry-points.md lists who checks what.
 */

/** 2000-01-01T00:00:00Z: no event of this app can be older (and a clock set to 1970 says nothing real). */
export const MIN_EVENT_TIME = Date.UTC(2000, 0, 1);
/** An imported event may lie this far ahead of this device's clock (another device's clock runs fast). */
export const EVENT_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;
/** The largest time a JavaScript Date holds (±8.64e15 ms): beyond it `new Date(at)` is Invalid Date. */
export const MAX_DATE_MS = 8.64e15;

/** Whether `at` is an event time an import may bring: from 2000-01-01 to a day after `now`. */
export function isImportableEventTime(at: number, now = Date.now()): boolean {
  return Number.isFinite(at) && at >= MIN_EVENT_TIME && at <= now + EVENT_CLOCK_SKEW_MS;
}

/**
 * Whether `at` is a time the interface can show (Intl formats it, toISOString does not throw). What is
 * read back from the database is held to this looser range: a device whose clock was wrong when it
 * recorded an event still shows its history.
 */
export function isShowableTime(at: unknown): at is number {
  return typeof at === 'number' && Number.isFinite(at) && at >= 0 && at <= MAX_DATE_MS;
}

/**
 * The largest magnitude of any parameter of the personal model (W, q, b, the ranker, u). A score is
 * u·(W·e + q) + b: with |w| ≤ 10⁴, d ≤ 1024 factors and unit-length embeddings of up to 4096 dimensions
 * (|W·e|ⱼ ≤ 10⁴·√4096), it stays below ~10¹³, far inside float32 (3.4·10³⁸). Trained models hold values
 * below 10; a file at ±3·10³⁸ (finite, but every score then overflows to ±Infinity) is refused.
 */
export const MAX_ABS_WEIGHT = 1e4;

/**
 * The largest |value| of a text vector taken from a file or the cache. Encoders give unit-length vectors
 * (values ≤ 1); the bound leaves room for one that does not normalise, and keeps every dot product of
 * two vectors of up to 4096 dimensions below ~4·10⁹. Stored as int8 with a scale per row (core/quantize),
 * a row's scale is its largest |value| / 127: MAX_EMBEDDING_SCALE.
 */
export const MAX_ABS_EMBEDDING_VALUE = 1e3;
export const MAX_EMBEDDING_SCALE = MAX_ABS_EMBEDDING_VALUE / 127;

/** The index of the first value that is non-finite or beyond ±MAX_ABS_WEIGHT, or -1. */
export function firstOutOfRangeWeight(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    // Written so that NaN fails too.
    if (!(value >= -MAX_ABS_WEIGHT && value <= MAX_ABS_WEIGHT)) return i;
  }
  return -1;
}
