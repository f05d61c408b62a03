import { useTranslation } from 'react-i18next';
import type { EngineSnapshot } from '../engine/api';

/**
 * One small line while the browser refuses or lost storage and picks are kept for this visit only
 * (storage/fallback.ts): what will not be kept, and why, in the interface's language (the engine
 * says why with `storage.reason`; its English `notice` is what the widget and tests read).
 */
export function StorageNotice({ storage }: { storage: EngineSnapshot['storage'] }) {
  const { t } = useTranslation();
  if (!storage || storage.persisted) return null;
  return (
    <p role="status" className="storage-notice">
      <small>{t(`storageNotice.${storage.reason}`)}</small>
    </p>
  );
}
