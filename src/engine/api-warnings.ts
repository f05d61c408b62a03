/** The engine's warnings: codes with their details, worded by the UI in its language (ui/i18n/warnings.ts). */

/**
 * Each warning the engine can raise, with what its sentence needs. String details that come from a
 * browser, a runtime or a file (`message`, `reason`, `problem`, `note`) are English and stay so in every
 * language; names (`url`, model labels and ids) are shown as they are.
 */
export interface WarningParams {
  /** "N catalog rows were skipped because of missing or invalid fields (first: row R, reason)." */
  catalogRowsSkipped: { count: number; row: number; reason: string };
  /** A text model chosen on an earlier visit is not offered here. */
  encoderNotOffered: { chosen: string; fallback: string };
  /** History records the database returned damaged. */
  historySkipped: { count: number };
  /** The precomputed embeddings could not be applied (any failure while reading them at start). */
  prebuiltIgnored: { message: string };
  /** No TensorFlow.js backend starts; the stored model still ranks, without training. */
  backendUnavailableModelKept: { message: string };
  /** No TensorFlow.js backend starts; popular books are shown. */
  backendUnavailable: { message: string };
  /** A notice from the text model's runtime (e.g. WebGPU failed, WASM used), in its own English words. */
  encoderNotice: { message: string };
  storageFull: Record<string, never>;
  modelScoresNotNumbers: { message: string };
  /** Stored records left out as damaged (storage/records.ts), one note each. */
  storedDataSkipped: { note: string };
  shippedModelIgnored: { problem: string };
  storedModelRebuilt: { problem: string };
  modelStartFailed: { message: string };
  trainingStopped: { message: string };
  contributionUnavailable: { message: string };
  /** The text model chosen on an earlier visit failed to load; the default one took over. */
  chosenEncoderFailed: { chosen: string; message: string; fallback: string };
  encoderFailed: { message: string };
  coLikedIgnored: { url: string; message: string };
  prebuiltFileIgnored: { url: string; message: string };
  prebuiltWrongModel: { fileModel: string; fileDimension: number; model: string; dimension: number };
  prebuiltMismatch: { minCosine: number; sampleSize: number };
  prebuiltNotCached: { message: string };
  /** A catalog held as columns could not be kept on the device (OPFS): this visit goes on, the next downloads it again. */
  columnsNotKept: { message: string };
  /**
   * A columns catalog's row shards (its texts, bylines, tags) not all stored: a shard refused, no room for
   * them (the quota), a download that stopped. Those items keep their stand-ins from the columns.
   */
  catalogTextsMissing: { message: string };
  embeddingStopped: { message: string };
  /** A compute backend failed; `backend` and `next` are labels ("WebGL", "WASM"). */
  backendFailed: { backend: string; message: string; next: string };
  /** The same while training; `count` epochs already done are kept. */
  backendFailedWhileTraining: { backend: string; message: string; next: string; count: number };
}

export type WarningCode = keyof WarningParams;

/** One warning: a code and its parameters (a discriminated union on `code`). */
export type EngineWarning = { [C in WarningCode]: { code: C; params: WarningParams[C] } }[WarningCode];

/** The same warning (code and every parameter): warnings are raised once each. */
export function sameWarning(a: EngineWarning, b: EngineWarning): boolean {
  if (a.code !== b.code) return false;
  const left = a.params as Record<string, unknown>;
  const right = b.params as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => Object.is(left[key], right[key]));
}
