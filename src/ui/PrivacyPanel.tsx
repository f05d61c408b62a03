import { memo, useCallback, useEffect, useRef, useState } from 'react';
import type { StorageReport } from '../engine/api';
import type { EngineClient } from './engine-client';
import { formatBytes, saveFile } from './format';
import { ModelUpdateSection } from './ModelUpdateSection';

interface PrivacyPanelProps {
  engine: EngineClient;
  version: number;
  persistence: PersistenceState;
  announce(message: string): void;
  onErased(): void;
}

const REMEASURE_AFTER_CHANGE_MS = 1000;
/** Longest wait for an installing service worker before erasing anyway. */
const INSTALL_WAIT_MS = 20_000;

/** Resolves once `worker` has stopped installing (its cache writes are done), or after INSTALL_WAIT_MS. */
function installFinished(worker: ServiceWorker): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      if (worker.state === 'installing') return;
      worker.removeEventListener('statechange', done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      worker.removeEventListener('statechange', done);
      resolve();
    }, INSTALL_WAIT_MS);
    worker.addEventListener('statechange', done);
    done();
  });
}

export type PersistenceState = 'unknown' | 'persistent' | 'best-effort' | 'unsupported';

const PERSISTENCE_TEXT: Record<PersistenceState, string> = {
  unknown: 'Not asked yet: the app asks the browser to keep your data after your first like.',
  persistent: 'Persistent: the browser will not clear it to free space.',
  'best-effort': 'Best effort: the browser may clear it when space runs low. Export your data to keep a copy.',
  unsupported: 'This browser does not say whether it keeps data.',
};

/** Requests this page made to other origins (Resource Timing: every fetch, script, image, font). */
function pageForeignRequests(): number {
  return performance.getEntriesByType('resource').filter((entry) => new URL(entry.name).origin !== location.origin).length;
}

export const PrivacyPanel = memo(function PrivacyPanel({ engine, version, persistence, announce, onErased }: PrivacyPanelProps) {
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
    announce('Your data was exported to a file.');
  };

  const importFile = async (file: File) => {
    setImportError(undefined);
    setBusy(true);
    try {
      if (file.size > 50 * 1024 * 1024) throw new Error(`The file is ${formatBytes(file.size)}; an export is never larger than 50 MB.`);
      const { added, inFile } = await engine.importData(await file.text());
      announce(`Imported ${added} new ${added === 1 ? 'event' : 'events'} (${inFile - added} already here).`);
    } catch (error) {
      // Nothing was changed: the engine validates the whole file before writing.
      setImportError(`Nothing was imported. ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setBusy(false);
      if (fileInput.current) fileInput.current.value = '';
    }
  };

  const erase = async () => {
    dialog.current?.close();
    setBusy(true);
    // The service worker goes first: one still installing (a first visit's precache is ~10 MB) would
    // otherwise write its cache again after the caches were deleted.
    const registrations = (await navigator.serviceWorker?.getRegistrations?.()) ?? [];
    await Promise.all(
      registrations.map(async (registration) => {
        const installing = registration.installing;
        await registration.unregister();
        if (installing) await installFinished(installing);
      }),
    );
    await engine.eraseAll();
    onErased();
  };

  const rows: [string, { count: number; bytes: number } | undefined][] = [
    ['History', report?.history],
    ['Text embeddings cache', report?.embeddings],
    ['Personal model weights', report?.weights],
    ['Settings', report?.settings],
    ['App caches (offline files)', report?.appCaches],
  ];

  return (
    <section ref={section} className="panel" aria-labelledby="privacy-heading" id="privacy">
      <h2 id="privacy-heading">Privacy</h2>
      <p className="panel-intro">Everything below is stored in this browser only. Nothing is sent anywhere.</p>
      <table className="storage-table">
        <caption>What is stored</caption>
        <thead>
          <tr>
            <th scope="col">Data</th>
            <th scope="col">Records</th>
            <th scope="col">Size</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{value ? value.count.toLocaleString() : '…'}</td>
              <td>{value ? formatBytes(value.bytes) : '…'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report?.estimate && (
        <p>
          This site uses {formatBytes(report.estimate.usage)} of the {formatBytes(report.estimate.quota)} the browser allows it.
        </p>
      )}
      <p>
        <strong>Storage:</strong> <span className="persistence">{PERSISTENCE_TEXT[persistence]}</span>
      </p>
      <p>
        <strong>Requests to other sites:</strong> <output aria-label="Requests to other sites">{foreign}</output>
        {foreign === 0 ? ' — none, as it should be.' : ' — this should never happen; please report it.'}
      </p>
      <div className="panel-controls">
        <button type="button" onClick={() => void exportData()} disabled={busy}>
          Export my data
        </button>
        <button type="button" onClick={() => fileInput.current?.click()} disabled={busy}>
          Import data
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="application/json,.json"
          hidden
          aria-label="Data file to import"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void importFile(file);
          }}
        />
        <button type="button" className="danger" onClick={() => dialog.current?.showModal()} disabled={busy}>
          Erase all my data
        </button>
      </div>
      {importError && (
        <p role="alert" className="error-text">
          {importError}
        </p>
      )}
      <ModelUpdateSection engine={engine} announce={announce} />
      <dialog ref={dialog} aria-labelledby="erase-title" aria-describedby="erase-description">
        <h3 id="erase-title">Erase all your data?</h3>
        <p id="erase-description">
          Your history, personal model, settings and cached files are deleted from this browser. This cannot be undone;
          export first if you want a copy.
        </p>
        <div className="dialog-actions">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
          <button type="button" className="danger" onClick={() => void erase()}>
            Erase
          </button>
        </div>
      </dialog>
    </section>
  );
});
