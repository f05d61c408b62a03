import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ContributionState, StorageReport } from '../engine/api';
import { builtDeployment } from '../core/deployment';
import { ContributeSection } from './ContributeSection';
import type { EngineClient } from './engine-client';
import { formatBytes, formatNumber, saveFile } from './format';
import { lastFeedBytes, lastFeedCount } from '../storage/last-feed';
import { eraseEverything } from './erase';
import { ModelUpdateSection } from './ModelUpdateSection';

interface PrivacyPanelProps {
  engine: EngineClient;
  version: number;
  persistence: PersistenceState;
  /** snapshot.contribution: "Contribute to the shared model" (ContributeSection). */
  contribution?: ContributionState | undefined;
  announce(message: string): void;
  onErased(): void;
}

/** The aggregator this build names (core/deployment.ts), read once. */
const AGGREGATOR_ORIGIN = builtDeployment().aggregator?.origin;

const REMEASURE_AFTER_CHANGE_MS = 1000;
export type PersistenceState = 'unknown' | 'persistent' | 'best-effort' | 'unsupported';

/** Requests this page made to other origins (Resource Timing: every fetch, script, image, font). */
function pageForeignRequests(): number {
  return performance.getEntriesByType('resource').filter((entry) => new URL(entry.name).origin !== location.origin).length;
}

export const PrivacyPanel = memo(function PrivacyPanel({ engine, version, persistence, contribution, announce, onErased }: PrivacyPanelProps) {
  const { t } = useTranslation();
  const [report, setReport] = useState<StorageReport | undefined>(undefined);
  const [foreign, setForeign] = useState(0);
  const [importError, setImportError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const dialog = useRef<HTMLDialogElement>(null);

  const refresh = useCallback(async () => {
    const next = await engine.storageReport();
    setReport(next);
    setForeign(pageForeignRequests() + next.workerForeignRequests);
  }, [engine]);

  // Measuring reads every store of the database and the offline caches (megabytes, in the worker), so
  // it happens when the panel comes on screen and every 5 s while it stays there, and a second after
  // the history changes (a burst of likes measures once, after it): never beside the first feed.
  const changes = useRef(0);
  useEffect(() => {
    if (changes.current++ === 0) return; // the first run is the mount, not a change
    const timer = setTimeout(() => void refresh(), REMEASURE_AFTER_CHANGE_MS);
    return () => clearTimeout(timer);
  }, [refresh, version]);
  const section = useRef<HTMLElement>(null);
  useEffect(() => {
    const element = section.current;
    if (!element || typeof IntersectionObserver === 'undefined') {
      void refresh();
      return;
    }
    let timer: ReturnType<typeof setInterval> | undefined;
    const observer = new IntersectionObserver(([entry]) => {
      clearInterval(timer);
      timer = undefined;
      if (!entry?.isIntersecting) return;
      void refresh();
      timer = setInterval(() => void refresh(), 5000);
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      clearInterval(timer);
    };
  }, [refresh]);

  const exportData = async () => {
    const text = await engine.exportData();
    saveFile(new Blob([text], { type: 'application/json' }), 'private-recs-export', 'json');
    announce(t('privacy.exported'));
  };

  const importFile = async (file: File) => {
    setImportError(undefined);
    setBusy(true);
    try {
      if (file.size > 50 * 1024 * 1024) throw new Error(t('privacy.tooLarge', { size: formatBytes(file.size) }));
      const { added, inFile } = await engine.importData(await file.text());
      announce(t('privacy.imported', { count: added, already: formatNumber(inFile - added) }));
    } catch (error) {
      // Nothing was changed: the engine validates the whole file before writing.
      setImportError(t('privacy.importFailed', { message: error instanceof Error ? error.message : String(error) }));
    } finally {
      setBusy(false);
      if (fileInput.current) fileInput.current.value = '';
    }
  };

  const erase = async () => {
    dialog.current?.close();
    setBusy(true);
    await eraseEverything(engine);
    onErased();
  };

  const rows: [string, { count: number; bytes: number } | undefined][] = [
    [t('privacy.history'), report?.history],
    [t('privacy.embeddings'), report?.embeddings],
    [t('privacy.weights'), report?.weights],
    [t('privacy.settings'), report?.settings],
    [t('privacy.appCaches'), report?.appCaches],
    // Outside the engine's database (storage/last-feed.ts): read here, where it lives.
    [t('privacy.lastFeed'), report && { count: lastFeedCount(), bytes: lastFeedBytes() }],
    // A large catalog's rows and codes in OPFS (engine/scale.ts); a small catalog has none.
    ...(report?.vectorFiles ? [[t('privacy.vectorFiles'), report.vectorFiles] as [string, { count: number; bytes: number }]] : []),
    // A large catalog's columns and texts kept in OPFS (storage/opfs-columns.ts, the row shards).
    ...(report?.keptCatalog ? [[t('privacy.keptCatalog'), report.keptCatalog] as [string, { count: number; bytes: number }]] : []),
  ];

  return (
    <section ref={section} className="panel" aria-labelledby="privacy-heading" id="privacy">
      <h2 id="privacy-heading">{t('privacy.heading')}</h2>
      <p className="panel-intro">{contribution?.enabled ? t('privacy.introContributing') : t('privacy.intro')}</p>
      <table className="storage-table">
        <caption>{t('privacy.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('privacy.data')}</th>
            <th scope="col">{t('privacy.records')}</th>
            <th scope="col">{t('privacy.size')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{value ? formatNumber(value.count) : '…'}</td>
              <td>{value ? formatBytes(value.bytes) : '…'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report?.estimate && <p>{t('privacy.usage', { usage: formatBytes(report.estimate.usage), quota: formatBytes(report.estimate.quota) })}</p>}
      <p>
        <strong>{t('privacy.storage')}</strong> <span className="persistence">{t(`privacy.persistence.${persistence}`)}</span>
      </p>
      <p>
        <strong>{t('privacy.foreignHeading')}</strong> <output aria-label={t('privacy.foreign')}>{formatNumber(foreign)}</output>
        {foreign === 0 ? t('privacy.foreignNone') : t('privacy.foreignSome')}
      </p>
      <div className="panel-controls">
        <button type="button" onClick={() => void exportData()} disabled={busy}>
          {t('privacy.export')}
        </button>
        <button type="button" onClick={() => fileInput.current?.click()} disabled={busy}>
          {t('privacy.import')}
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="application/json,.json"
          hidden
          aria-label={t('privacy.importFile')}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void importFile(file);
          }}
        />
        <button type="button" className="danger" onClick={() => dialog.current?.showModal()} disabled={busy}>
          {t('privacy.erase')}
        </button>
      </div>
      {importError && (
        <p role="alert" className="error-text">
          {importError}
        </p>
      )}
      <ContributeSection engine={engine} contribution={contribution} origin={AGGREGATOR_ORIGIN} announce={announce} />
      <ModelUpdateSection engine={engine} announce={announce} />
      <dialog ref={dialog} aria-labelledby="erase-title" aria-describedby="erase-description">
        <h3 id="erase-title">{t('privacy.eraseTitle')}</h3>
        <p id="erase-description">{t('privacy.eraseText')}</p>
        <div className="dialog-actions">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            {t('privacy.cancel')}
          </button>
          <button type="button" className="danger" onClick={() => void erase()}>
            {t('privacy.eraseConfirm')}
          </button>
        </div>
      </dialog>
    </section>
  );
});
