import type { EngineSnapshot } from '../engine/api';

/**
 * One small line while the browser refuses or lost storage and picks are kept for this visit only
 * (storage/fallback.ts): what will not be kept, and why. Nothing while records are stored. The text
 * is the engine's (English, written in the worker), marked as such for screen readers.
 */
export function StorageNotice({ storage }: { storage: EngineSnapshot['storage'] }) {
  if (!storage || storage.persisted) return null;
  return (
    <p role="status" className="storage-notice" lang="en">
      <small>{storage.notice}</small>
    </p>
  );
}
