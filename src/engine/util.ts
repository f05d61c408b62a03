/** Small pieces the engine's modules share. */
import type { EngineWarning } from './api';

/** The id of an event still being written to IndexedDB (real ids start at 1). */
export const PENDING_EVENT_ID = -1;

export const STORAGE_FULL_WARNING: EngineWarning = { code: 'storageFull', params: {} };

/**
 * The hybrid model starts once this many items have vectors (the most popular are embedded first):
 * its initial projection is the principal directions of those embeddings. Until then (the first
 * minute of a first visit) the content profile ranks. A new text model reads as many before it takes over.
 */
export const MODEL_MIN_EMBEDDED = 1024;

/** Texts per batch handed to the encoder, whatever its copies (core/encoder-pool.ts splits it between them). */
export const EMBED_BATCH_SIZE = 32;

export function isQuotaError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'QuotaExceededError';
}

export function errorMessage(error: unknown): string {
  // A DOMException from IndexedDB (QuotaExceededError, AbortError) often has an empty message: its name says it.
  return error instanceof Error ? error.message || error.name : String(error);
}

/** Lets the worker answer what is waiting (a Like, a query) between slices of long background work. */
export const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A promise with its settle functions, whose rejection is never "unhandled" when nobody waits on it. */
export function deferred(): { promise: Promise<void>; resolve: () => void; reject: (reason: unknown) => void } {
  let resolve!: () => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
