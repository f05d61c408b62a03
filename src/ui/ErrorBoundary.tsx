/**
 * What keeps the page usable when a part of it throws while rendering (a record no check foresaw, a
 * chunk that failed to load): the part is replaced by its error, as text, and the rest stays. Wherever
 * the Privacy panel is lost with it, its "Export my data" and "Erase all my data" are offered in its
 * place (DataRescue), under the same names, so that a user can always take their data and leave.
 */
import { Component, useRef, useState, type ErrorInfo, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { EngineClient } from './engine-client';
import { saveFile } from './format';
import { eraseEverything } from './erase';

interface ErrorBoundaryProps {
  /** What replaces the children once one of them threw. */
  fallback(error: Error): ReactNode;
  children?: ReactNode;
}

export class ErrorBoundary extends Component<ErrorBoundaryProps, { error: Error | undefined }> {
  override state: { error: Error | undefined } = { error: undefined };

  static getDerivedStateFromError(thrown: unknown): { error: Error } {
    return { error: thrown instanceof Error ? thrown : new Error(String(thrown)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    // For developers; the user sees the message in the fallback.
    console.warn('private-recs: a part of the page failed to render and was replaced by its error.', error, info.componentStack);
  }

  override render(): ReactNode {
    return this.state.error ? this.props.fallback(this.state.error) : this.props.children;
  }
}

/** The message of a part that failed, as text (never markup: the message may quote data). */
export function PartFailed({ error, children }: { error: Error; children?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <section className="panel part-failed">
      <p role="alert" className="error-text">
        {t('app.partFailed', { message: error.message || error.name })}
      </p>
      {children}
    </section>
  );
}

/**
 * "Export my data" and "Erase all my data", standing alone: offered where the Privacy panel could not
 * render (or never will, on the error page). The erase asks first, as the panel does.
 */
export function DataRescue({ engine, onErased }: { engine: EngineClient; onErased(): void }) {
  const { t } = useTranslation();
  const dialog = useRef<HTMLDialogElement>(null);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await action();
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };
  const exportData = () => run(async () => saveFile(new Blob([await engine.exportData()], { type: 'application/json' }), 'private-recs-export', 'json'));
  const erase = () =>
    run(async () => {
      dialog.current?.close();
      await eraseEverything(engine);
      onErased();
    });
  return (
    <div className="panel-controls data-rescue">
      <button type="button" onClick={() => void exportData()} disabled={busy}>
        {t('privacy.export')}
      </button>
      <button type="button" className="danger" onClick={() => dialog.current?.showModal()} disabled={busy}>
        {t('privacy.erase')}
      </button>
      {problem && (
        <p role="alert" className="error-text" lang="en">
          {problem}
        </p>
      )}
      <dialog ref={dialog} aria-labelledby="rescue-erase-title" aria-describedby="rescue-erase-description">
        <h2 id="rescue-erase-title">{t('privacy.eraseTitle')}</h2>
        <p id="rescue-erase-description">{t('privacy.eraseText')}</p>
        <div className="dialog-actions">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            {t('privacy.cancel')}
          </button>
          <button type="button" className="danger" onClick={() => void erase()}>
            {t('privacy.eraseConfirm')}
          </button>
        </div>
      </dialog>
    </div>
  );
}
